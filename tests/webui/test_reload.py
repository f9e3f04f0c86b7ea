"""gr.NO_RELOAD: webui has no reload mode, so guarded code always runs."""

import webui as gr


def test_no_reload_is_true_so_guarded_code_runs():
    ran = []
    if gr.NO_RELOAD:
        ran.append("once")
    assert ran == ["once"] and gr.NO_RELOAD is True
