"""The keyword parameters of Gradio's components, by class name (generated from Gradio's
source by scripts/gradio_parameters.py; do not edit). webui's refusal of a keyword it does not
take says whether the keyword is one of Gradio's."""

GRADIO_PARAMETERS: dict[str, str] = {  # class name -> its parameters, space-separated
    "AnnotatedImage": (
        "buttons color_map container elem_classes elem_id every format height inputs key "
        "label min_width preserved_by_key render scale show_label show_legend value "
        "visible width "
    ),
    "Api": ("_api_info label value "),
    "Audio": (
        "autoplay buttons container editable elem_classes elem_id every format inputs "
        "interactive key label loop min_width playback_position preserved_by_key "
        "recording render scale show_label sources streaming subtitles type value visible "
        "waveform_options "
    ),
    "BarPlot": (
        "buttons caption color color_map color_title colors_in_legend container "
        "elem_classes elem_id every height inputs key label min_width preserved_by_key "
        "render scale show_label sort title tooltip value visible x x_axis_format "
        "x_axis_labels_visible x_bin x_label_angle x_lim x_title y y_aggregate "
        "y_axis_format y_label_angle y_lim y_title "
    ),
    "BrowserState": ("default_value render secret storage_key "),
    "Button": (
        "elem_classes elem_id every icon inputs interactive key link link_target "
        "min_width preserved_by_key render scale size value variant visible "
    ),
    "Chatbot": (
        "allow_file_downloads allow_tags autoscroll avatar_images buttons container "
        "editable elem_classes elem_id every examples feedback_options feedback_value "
        "group_consecutive_messages height inputs key label latex_delimiters layout "
        "like_user_message line_breaks max_height min_height min_width placeholder "
        "preserved_by_key reasoning_tags render render_markdown resizable rtl "
        "sanitize_html scale show_label value visible watermark "
    ),
    "Checkbox": (
        "buttons container elem_classes elem_id every info inputs interactive key label "
        "min_width preserved_by_key render scale show_label value visible "
    ),
    "CheckboxGroup": (
        "buttons choices container elem_classes elem_id every info inputs interactive key "
        "label min_width preserved_by_key render scale show_label show_select_all type "
        "value visible "
    ),
    "ClearButton": (
        "api_name api_visibility components elem_classes elem_id every icon inputs "
        "interactive key link link_target min_width preserved_by_key render scale size "
        "value variant visible "
    ),
    "Code": (
        "autocomplete buttons container elem_classes elem_id every inputs interactive key "
        "label language lines max_lines min_width preserved_by_key render scale "
        "show_label show_line_numbers value visible wrap_lines "
    ),
    "ColorPicker": (
        "container elem_classes elem_id every info inputs interactive key label min_width "
        "preserved_by_key render scale show_label value visible "
    ),
    "Component": (
        "container elem_classes elem_id every info inputs interactive key label load_fn "
        "min_width preserved_by_key render scale show_label value visible "
    ),
    "Dataframe": (
        "buttons col_count column_count column_limits column_widths datatype elem_classes "
        "elem_id every headers inputs interactive key label latex_delimiters line_breaks "
        "max_chars max_height min_width pinned_columns preserved_by_key render row_count "
        "row_limits scale show_label show_row_numbers show_search static_columns type "
        "value visible wrap "
    ),
    "Dataset": (
        "component_props components container elem_classes elem_id headers key label "
        "layout min_width preserved_by_key proxy_url render sample_labels samples "
        "samples_per_page scale show_label type visible "
    ),
    "DateTime": (
        "buttons elem_classes elem_id every include_time info interactive key label "
        "min_width preserved_by_key render scale show_label timezone type value visible "
    ),
    "DeepLinkButton": (
        "copied_value elem_classes elem_id every icon inputs interactive key link "
        "link_target min_width preserved_by_key render scale size value variant visible "
    ),
    "Dialogue": (
        "autofocus autoscroll buttons color_map container elem_classes elem_id formatter "
        "info interactive key label max_lines min_width placeholder render scale "
        "separator show_label speakers submit_btn tags type ui_mode unformatter value "
        "visible "
    ),
    "DownloadButton": (
        "elem_classes elem_id every icon inputs interactive key label min_width "
        "preserved_by_key render scale size value variant visible "
    ),
    "Dropdown": (
        "allow_custom_value buttons choices container elem_classes elem_id every "
        "filterable info inputs interactive key label max_choices min_width multiselect "
        "preserved_by_key render scale show_label type value visible "
    ),
    "DuplicateButton": (
        "_activate elem_classes elem_id every icon inputs interactive key link "
        "link_target min_width preserved_by_key render scale size value variant visible "
    ),
    "Fallback": (
        "container elem_classes elem_id every info inputs interactive key label load_fn "
        "min_width preserved_by_key render scale show_label value visible "
    ),
    "File": (
        "allow_reordering buttons container elem_classes elem_id every file_count "
        "file_types height inputs interactive key label min_width preserved_by_key render "
        "scale show_label type value visible "
    ),
    "FileExplorer": (
        "buttons container elem_classes elem_id every file_count glob height ignore_glob "
        "inputs interactive key label max_height min_height min_width preserved_by_key "
        "render root_dir scale show_label value visible "
    ),
    "Files": (
        "allow_reordering buttons container elem_classes elem_id every file_count "
        "file_types height inputs interactive key label min_width preserved_by_key render "
        "scale show_label type value visible "
    ),
    "FormComponent": (
        "container elem_classes elem_id every info inputs interactive key label load_fn "
        "min_width preserved_by_key render scale show_label value visible "
    ),
    "Gallery": (
        "allow_preview buttons columns container elem_classes elem_id every file_types "
        "fit_columns format height inputs interactive key label min_width object_fit "
        "preserved_by_key preview render rows scale selected_index show_label sources "
        "type value visible "
    ),
    "HTML": (
        "apply_default_css autoscroll buttons container css_template elem_classes elem_id "
        "every head html_template inputs js_on_load key label max_height min_height "
        "min_width padding preserved_by_key render scale server_functions show_label "
        "value visible "
    ),
    "HighlightedText": (
        "adjacent_separator buttons color_map combine_adjacent container elem_classes "
        "elem_id every inputs interactive key label min_width preserved_by_key render rtl "
        "scale show_inline_category show_label show_legend show_whitespaces value visible "
    ),
    "Image": (
        "buttons container elem_classes elem_id every format height image_mode inputs "
        "interactive key label min_width placeholder preserved_by_key render scale "
        "show_label sources streaming type value visible watermark webcam_options width "
    ),
    "ImageEditor": (
        "_selectable brush buttons canvas_size container elem_classes elem_id eraser "
        "every fixed_canvas format height image_mode inputs interactive key label layers "
        "min_width placeholder preserved_by_key render scale show_label sources "
        "transforms type value visible webcam_options width "
    ),
    "ImageMask": (
        "_selectable brush buttons canvas_size container elem_classes elem_id eraser "
        "every fixed_canvas format height image_mode inputs interactive key label layers "
        "min_width placeholder preserved_by_key render scale show_label sources "
        "transforms type value visible webcam_options width "
    ),
    "ImageSlider": (
        "buttons container elem_classes elem_id every format height image_mode inputs "
        "interactive key label max_height min_width preserved_by_key render scale "
        "show_label slider_position type value visible width "
    ),
    "JSON": (
        "buttons container elem_classes elem_id every height inputs key label max_height "
        "min_height min_width open preserved_by_key render scale show_indices show_label "
        "value visible "
    ),
    "Label": (
        "buttons color container elem_classes elem_id every inputs key label min_width "
        "num_top_classes preserved_by_key render scale show_heading show_label value "
        "visible "
    ),
    "LinePlot": (
        "buttons caption color color_map color_title colors_in_legend container "
        "elem_classes elem_id every height inputs key label min_width preserved_by_key "
        "render scale show_label sort title tooltip value visible x x_axis_format "
        "x_axis_labels_visible x_bin x_label_angle x_lim x_title y y_aggregate "
        "y_axis_format y_label_angle y_lim y_title "
    ),
    "List": (
        "buttons col_count column_count column_limits column_widths datatype elem_classes "
        "elem_id every headers inputs interactive key label latex_delimiters line_breaks "
        "max_chars max_height min_width pinned_columns preserved_by_key render row_count "
        "row_limits scale show_label show_row_numbers show_search static_columns type "
        "value visible wrap "
    ),
    "LoginButton": (
        "elem_classes elem_id every icon inputs interactive key link link_target "
        "logout_value min_width preserved_by_key render scale size value variant visible "
    ),
    "Markdown": (
        "buttons container elem_classes elem_id every header_links height inputs key "
        "label latex_delimiters line_breaks max_height min_height min_width padding "
        "preserved_by_key render rtl sanitize_html scale show_label value visible "
    ),
    "Matrix": (
        "buttons col_count column_count column_limits column_widths datatype elem_classes "
        "elem_id every headers inputs interactive key label latex_delimiters line_breaks "
        "max_chars max_height min_width pinned_columns preserved_by_key render row_count "
        "row_limits scale show_label show_row_numbers show_search static_columns type "
        "value visible wrap "
    ),
    "Microphone": (
        "autoplay buttons container editable elem_classes elem_id every format inputs "
        "interactive key label loop min_width playback_position preserved_by_key "
        "recording render scale show_label sources streaming subtitles type value visible "
        "waveform_options "
    ),
    "Model3D": (
        "buttons camera_position clear_color container display_mode elem_classes elem_id "
        "every height inputs interactive key label min_width pan_speed preserved_by_key "
        "render scale show_label value visible zoom_speed "
    ),
    "MultimodalTextbox": (
        "autofocus autoscroll container elem_classes elem_id every file_count file_types "
        "html_attributes info inputs interactive key label lines max_lines "
        "max_plain_text_length min_width placeholder preserved_by_key render rtl scale "
        "show_label sources stop_btn submit_btn text_align value visible "
    ),
    "NativePlot": (
        "buttons caption color color_map color_title colors_in_legend container "
        "elem_classes elem_id every height inputs key label min_width preserved_by_key "
        "render scale show_label sort title tooltip value visible x x_axis_format "
        "x_axis_labels_visible x_bin x_label_angle x_lim x_title y y_aggregate "
        "y_axis_format y_label_angle y_lim y_title "
    ),
    "Navbar": ("elem_classes elem_id key main_page_name render value visible "),
    "Number": (
        "buttons container elem_classes elem_id every info inputs interactive key label "
        "maximum min_width minimum placeholder precision preserved_by_key render scale "
        "show_label step value visible "
    ),
    "Numpy": (
        "buttons col_count column_count column_limits column_widths datatype elem_classes "
        "elem_id every headers inputs interactive key label latex_delimiters line_breaks "
        "max_chars max_height min_width pinned_columns preserved_by_key render row_count "
        "row_limits scale show_label show_row_numbers show_search static_columns type "
        "value visible wrap "
    ),
    "Paint": (
        "_selectable brush buttons canvas_size container elem_classes elem_id eraser "
        "every fixed_canvas format height image_mode inputs interactive key label layers "
        "min_width placeholder preserved_by_key render scale show_label sources "
        "transforms type value visible webcam_options width "
    ),
    "ParamViewer": (
        "anchor_links every header inputs key language linkify max_height "
        "preserved_by_key render value "
    ),
    "PlayableVideo": (
        "autoplay buttons container elem_classes elem_id every format height "
        "include_audio inputs interactive key label loop min_width playback_position "
        "preserved_by_key render scale show_label sources streaming subtitles value "
        "visible watermark webcam_options width "
    ),
    "Plot": (
        "buttons container elem_classes elem_id every format inputs key label min_width "
        "preserved_by_key render scale show_label value visible "
    ),
    "Radio": (
        "buttons choices container elem_classes elem_id every info inputs interactive key "
        "label min_width preserved_by_key render rtl scale show_label type value visible "
    ),
    "ScatterPlot": (
        "buttons caption color color_map color_title colors_in_legend container "
        "elem_classes elem_id every height inputs key label min_width preserved_by_key "
        "render scale show_label sort title tooltip value visible x x_axis_format "
        "x_axis_labels_visible x_bin x_label_angle x_lim x_title y y_aggregate "
        "y_axis_format y_label_angle y_lim y_title "
    ),
    "Sketchpad": (
        "_selectable brush buttons canvas_size container elem_classes elem_id eraser "
        "every fixed_canvas format height image_mode inputs interactive key label layers "
        "min_width placeholder preserved_by_key render scale show_label sources "
        "transforms type value visible webcam_options width "
    ),
    "Slider": (
        "buttons container elem_classes elem_id every info inputs interactive key label "
        "maximum min_width minimum precision preserved_by_key randomize render scale "
        "show_label step value visible "
    ),
    "State": ("delete_callback render time_to_live value "),
    "TextArea": (
        "autofocus autoscroll buttons container elem_classes elem_id every "
        "html_attributes info inputs interactive key label lines max_length max_lines "
        "min_width placeholder preserved_by_key render rtl scale show_label stop_btn "
        "submit_btn text_align type value visible "
    ),
    "Textbox": (
        "autofocus autoscroll buttons container elem_classes elem_id every "
        "html_attributes info inputs interactive key label lines max_length max_lines "
        "min_width placeholder preserved_by_key render rtl scale show_label stop_btn "
        "submit_btn text_align type value visible "
    ),
    "Timer": ("active render value "),
    "UploadButton": (
        "elem_classes elem_id every file_count file_types icon inputs interactive key "
        "label min_width preserved_by_key render scale size type value variant visible "
    ),
    "Video": (
        "autoplay buttons container elem_classes elem_id every format height "
        "include_audio inputs interactive key label loop min_width playback_position "
        "preserved_by_key render scale show_label sources streaming subtitles value "
        "visible watermark webcam_options width "
    ),
    "WorkflowCanvas": (
        "container elem_classes elem_id every inputs key label preserved_by_key render "
        "server_functions show_label value visible "
    ),
}


def gradio_parameters(class_name: str) -> frozenset[str]:
    """The parameters of Gradio's component `class_name`; empty for a class Gradio lacks."""
    return frozenset(GRADIO_PARAMETERS.get(class_name, "").split())
