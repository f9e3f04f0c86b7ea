// The built-in components by block type. Every entry is `create(props, ctx)` returning a
// handle {element, getValue(), setValue(value), update?(props)}: the same interface a custom
// component's module exports (see the README's "Custom components").

import { chatbot } from "./chatbot.js";
import { dataframe } from "./dataframe.js";
import { dataset } from "./dataset.js";
import { html, json, label, markdown } from "./display.js";
import {
  button,
  checkbox,
  checkboxgroup,
  dropdown,
  number,
  radio,
  slider,
  state,
  textbox,
  timer,
} from "./inputs.js";
import { audio, file, image, video } from "./media.js";
import { nativeplot, plot } from "./plot.js";

export const builtins = {
  audio,
  button,
  chatbot,
  checkbox,
  checkboxgroup,
  dataframe,
  dataset,
  dropdown,
  file,
  html,
  image,
  json,
  label,
  markdown,
  nativeplot,
  lineplot: nativeplot,
  scatterplot: nativeplot,
  barplot: nativeplot,
  number,
  plot,
  radio,
  slider,
  state,
  textbox,
  timer,
  video,
};
