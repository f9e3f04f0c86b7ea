// The browser side of Counter: an ES module exporting create(props, ctx), the interface every
// webui component implements. `props` are the component's props from /config; `ctx.emit(name)`
// fires its event listeners. The returned handle gives the page the DOM element and the value.

export function create(props, ctx) {
  let count = props.value ?? 0;
  const step = props.step ?? 1;

  const element = document.createElement("div");
  element.className = "webui-field counter";
  const caption = document.createElement("span");
  caption.className = "webui-label";
  caption.textContent = props.label ?? "";
  const row = document.createElement("div");
  row.style.cssText = "display: flex; gap: 12px; align-items: center;";
  const shown = document.createElement("output");
  shown.className = "counter-value";
  shown.style.cssText = "min-width: 3ch; text-align: center; font-size: 1.5em;";

  const button = (text, delta) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "webui-button webui-button-secondary webui-button-sm";
    b.textContent = text;
    b.disabled = !props.interactive;
    b.addEventListener("click", () => {
      count += delta;
      shown.textContent = String(count);
      ctx.emit("input");
      ctx.emit("change");
    });
    return b;
  };
  const minus = button("−", -step);
  const plus = button("+", step);
  minus.classList.add("counter-minus");
  plus.classList.add("counter-plus");
  shown.textContent = String(count);
  row.append(minus, shown, plus);
  element.append(caption, row);

  return {
    element,
    getValue: () => count,
    setValue(value) {
      count = value ?? 0;
      shown.textContent = String(count);
    },
    update(changed) {
      if ("label" in changed) caption.textContent = changed.label ?? "";
      if ("interactive" in changed) minus.disabled = plus.disabled = !changed.interactive;
    },
  };
}
