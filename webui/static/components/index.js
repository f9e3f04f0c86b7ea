// The built-in components by block type. Every entry is `create(props, ctx)` returning a
// handle {element, getValue(), setValue(value), update?(props)}: the same interface a custom
// component's module exports (see the README's "Custom components").

import { annotatedimage } from "./annotatedimage.js";
import { browserstate } from "./browserstate.js";
import { chatbot } from "./chatbot.js";
import { code } from "./code.js";
import { dataframe } from "./dataframe.js";
import { dataset } from "./dataset.js";
import { dialogue } from "./dialogue.js";
import { json, label, markdown } from "./display.js";
import { downloadbutton, uploadbutton } from "./filebuttons.js";
import { fileexplorer } from "./fileexplorer.js";
import { gallery } from "./gallery.js";
import { highlightedtext } from "./highlighted.js";
import { html } from "./html.js";
import { imageeditor } from "./imageeditor.js";
import { imageslider } from "./imageslider.js";
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
import { model3d } from "./model3d.js";
import { multimodaltextbox } from "./multimodal.js";
import { navbar } from "../navbar.js";
import { colorpicker, datetime } from "./pickers.js";
import { paramviewer } from "./paramviewer.js";
import { nativeplot, plot } from "./plot.js";

export const builtins = {
  annotatedimage,
  audio,
  browserstate,
  button,
  chatbot,
  checkbox,
  checkboxgroup,
  code,
  colorpicker,
  dataframe,
  dataset,
  datetime,
  dialogue,
  downloadbutton,
  dropdown,
  file,
  fileexplorer,
  gallery,
  highlightedtext,
  html,
  image,
  imageeditor,
  imageslider,
  json,
  label,
  markdown,
  model3d,
  multimodaltextbox,
  nativeplot,
  navbar,
  lineplot: nativeplot,
  scatterplot: nativeplot,
  barplot: nativeplot,
  number,
  paramviewer,
  plot,
  radio,
  slider,
  state,
  textbox,
  timer,
  uploadbutton,
  video,
};
