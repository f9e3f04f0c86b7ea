"""The block tree: a Block takes an id from its root when rendered inside an open layout.

The bottom of webui's layers: nothing here knows about components, events or the server. The
innermost open layout is a ContextVar (not a module global), so threads and tasks building
separate apps never see each other's trees.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from webui.root import Root

_render_parent: ContextVar[BlockContext | None] = ContextVar("webui_render_parent", default=None)


def open_layout() -> BlockContext | None:
    """The innermost layout open on this thread or task (`with layout:`), if any."""
    return _render_parent.get()


class Block:
    """A node of the UI tree. It takes an id from its root when rendered inside one."""

    block_type: ClassVar[str] = "block"
    skip_api: ClassVar[bool] = True

    def __init__(
        self,
        *,
        visible: bool = True,
        elem_id: str | None = None,
        elem_classes: list[str] | str | None = None,
        render: bool = True,
    ):
        self._id: int | None = None
        self.root: Root | None = None
        self.visible = visible
        self.elem_id = elem_id
        self.elem_classes = [elem_classes] if isinstance(elem_classes, str) else elem_classes or []
        if render:
            self.render()

    @property
    def id(self) -> int:
        if self._id is None:
            raise RuntimeError(
                f"{type(self).__name__} has no id: create it inside a `with Blocks():` block "
                "or call .render() inside one"
            )
        return self._id

    def render(self) -> Block:
        """Attach to the innermost open layout; outside any Blocks this is a no-op."""
        parent = _render_parent.get()
        if parent is None or self._id is not None:
            return self
        assert parent.root is not None  # an open layout always belongs to an app
        self.root = parent.root
        self._id = self.root._register(self)
        parent.children.append(self)
        return self

    def unrender(self) -> Block:
        """Take this block out of the app it was rendered in (Gradio's `unrender()`), so it can
        be rendered again elsewhere: an Interface does this to components made inside another
        app's `with` and passed to it. A no-op for a block not rendered."""
        root = self.root
        if root is None or self._id is None:
            return self
        for block in list(root.blocks.values()):
            if isinstance(block, BlockContext) and self in block.children:
                block.children.remove(self)
                break
        root.blocks.pop(self._id, None)
        self._id, self.root = None, None
        return self

    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = {"visible": self.visible, "elem_classes": self.elem_classes}
        if self.elem_id is not None:
            props["elem_id"] = self.elem_id
        props["name"] = self.block_type
        return props

    def config(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.block_type,
            "props": self.props(),
            "skip_api": self.skip_api,
            "key": None,
        }

    def layout(self) -> dict[str, Any]:
        return {"id": self.id}


class BlockContext(Block):
    """A block holding children: entering it makes new blocks render inside it."""

    def __init__(self, **kwargs: Any):
        self.children: list[Block] = []
        self._tokens: list[Token] = []
        super().__init__(**kwargs)

    def __enter__(self) -> Self:
        if self._id is None:  # a root has its id from birth; a layout once rendered in one
            raise RuntimeError(f"{type(self).__name__} must be opened inside a `with Blocks():`")
        self._tokens.append(_render_parent.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _render_parent.reset(self._tokens.pop())

    def layout(self) -> dict[str, Any]:
        return {"id": self.id, "children": [child.layout() for child in self.children]}
