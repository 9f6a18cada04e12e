"""The web page (``/``), an offline API docs page (``/docs``) and their static assets (all public:
the page asks for the API key itself and sends it with each API call)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)

STATIC = files("leian.api") / "static"


def _page(name: str) -> HTMLResponse:
    # no-cache: a page served by a new version must not run with an old app.js.
    return HTMLResponse((STATIC / name).read_text("utf-8"), headers={"Cache-Control": "no-cache"})


@router.get("/")
def index() -> HTMLResponse:
    return _page("index.html")


@router.get("/docs")
def docs() -> HTMLResponse:
    return _page("docs.html")


@router.get("/redoc")
def redoc() -> RedirectResponse:
    return RedirectResponse("/docs")
