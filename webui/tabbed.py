"""TabbedInterface: several Interfaces (or Blocks apps) as the tabs of one app."""

from __future__ import annotations

from collections.abc import Sequence

from webui.blocks import Blocks
from webui.components import Markdown
from webui.layouts import Tab, Tabs


class TabbedInterface(Blocks):
    """Several Interfaces (or Blocks) in tabs of one app; each keeps its endpoints."""

    def __init__(
        self,
        interface_list: Sequence[Blocks],
        tab_names: list[str] | None = None,
        title: str | None = None,
        analytics_enabled: bool | None = None,
    ):
        super().__init__(
            title=title or "webui", analytics_enabled=analytics_enabled, fill_height=True
        )
        if tab_names is None:
            tab_names = [f"Tab {i}" for i in range(len(interface_list))]
        if len(tab_names) != len(interface_list):
            raise ValueError(
                f"{len(tab_names)} tab_names for {len(interface_list)} interfaces; give one each"
            )
        with self:
            if title:
                Markdown(f"# {title}")
            with Tabs():
                for interface, name in zip(interface_list, tab_names, strict=True):
                    if not isinstance(interface, Blocks):
                        raise TypeError(
                            f"TabbedInterface takes Interfaces or Blocks: {interface!r}"
                        )
                    with Tab(label=name):
                        interface.render()
