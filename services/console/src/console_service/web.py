"""Per-request plumbing: the session from its cookie, the CSRF check, the gateway client, rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from console_service.gateway import Gateway
from console_service.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, SessionCodec
from console_service.settings import Settings
from console_service.viewer import Viewer, viewer_of

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


class NotSignedIn(Exception):
    """The page needs a user; the handler sends the browser to the sign-in page."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


@dataclass
class Console:
    """What the app holds for its lifetime (``app.state.console``)."""

    settings: Settings
    codec: SessionCodec
    client: httpx.AsyncClient


@dataclass
class Ctx:
    """One request's view of the console: its session, viewer and gateway."""

    request: Request
    console: Console
    session: Session
    fresh: bool = False  # the session is new or changed: the answer sets the cookie
    viewer: Viewer | None = None
    extra_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.console.settings

    @property
    def gateway(self) -> Gateway:
        return Gateway(self.console.client, self.session.token)

    def require_viewer(self) -> Viewer:
        """The signed-in viewer, or :class:`NotSignedIn`."""
        if self.viewer is None:
            raise NotSignedIn
        return self.viewer

    def replace_session(self, session: Session) -> None:
        """Use ``session`` from now on (the answer stores it)."""
        self.session = session
        self.fresh = True
        self.viewer = viewer_of(session.token, dev=self.settings.is_dev) if session.token else None

    def finish(self, response: Response) -> Response:
        """Store the session cookie on ``response`` when it changed."""
        if self.fresh:
            response.set_cookie(
                COOKIE,
                self.console.codec.dumps(self.session),
                max_age=self.settings.session_ttl_s,
                httponly=True,
                secure=self.settings.secure_cookies,
                samesite="lax",
                path="/",
            )
        response.headers.setdefault("cache-control", "no-store")
        return response

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        """A page or fragment with the common values (viewer, CSRF token, settings)."""
        response = TEMPLATES.TemplateResponse(
            self.request,
            template,
            {"viewer": self.viewer, "csrf": self.session.csrf, "dev": self.settings.is_dev, **values},
            status_code=status_code,
        )
        return self.finish(response)

    def redirect(self, url: str) -> Response:
        """303 to ``url``; for htmx requests an ``HX-Redirect`` (htmx follows it as a full navigation)."""
        if self.request.headers.get("hx-request"):
            return self.finish(HTMLResponse("", headers={"HX-Redirect": url}))
        return self.finish(RedirectResponse(url, status_code=303))


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def get_ctx(request: Request, console: Annotated[Console, Depends(get_console)]) -> Ctx:
    """The request's context; a missing, expired or forged cookie gives a new anonymous session."""
    session = console.codec.loads(request.cookies.get(COOKIE))
    ctx = Ctx(request, console, session or Session.anonymous(), fresh=session is None)
    if ctx.session.token:
        try:
            ctx.viewer = viewer_of(ctx.session.token, dev=console.settings.is_dev)
        except Exception:  # a token we can no longer read: start over
            ctx.replace_session(Session.anonymous())
    return ctx


async def checked_ctx(ctx: Annotated[Ctx, Depends(get_ctx)]) -> Ctx:
    """:func:`get_ctx` for a POST: refused unless it carries the session's CSRF token."""
    sent = ctx.request.headers.get(CSRF_HEADER)
    if not sent:
        form = await ctx.request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if ctx.fresh or not ctx.session.csrf_ok(sent):
        raise CsrfRefused
    return ctx


CtxDep = Annotated[Ctx, Depends(get_ctx)]
PostCtx = Annotated[Ctx, Depends(checked_ctx)]
