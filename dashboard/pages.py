"""The page table: app.py draws it, and a page that sends the user on (Data -> Advisor) names it here."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from advisor.errors import UserError
from dashboard import advisor_page, data_page, models_page, sweeps_page

PAGES: dict[str, tuple[Callable[[], None], str, str]] = {
    advisor_page.URL: (advisor_page.render, advisor_page.TITLE, ":material/explore:"),
    data_page.URL: (data_page.render, data_page.TITLE, ":material/table_view:"),
    sweeps_page.URL: (sweeps_page.render, sweeps_page.TITLE, ":material/monitoring:"),
    models_page.URL: (models_page.render, models_page.TITLE, ":material/leaderboard:"),
}


def guarded(render: Callable[[], None]) -> Callable[[], None]:
    """A user's mistake that a page did not catch still shows as its message and fix, not a traceback."""

    @wraps(render)
    def page() -> None:
        try:
            render()
        except UserError as err:
            st.error(f"{err.message}\n\n{err.fix}", icon=":material/warning:")

    return page


def page(url: str, default: bool = False) -> StreamlitPage:
    render, title, icon = PAGES[url]
    return st.Page(guarded(render), title=title, icon=icon, url_path=url, default=default)


def navigation(default: str = advisor_page.URL) -> StreamlitPage:
    return st.navigation([page(url, default=url == default) for url in PAGES])
