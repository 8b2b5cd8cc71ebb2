"""Sign-in, sign-out, the work queue and work-order creation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from console_service import queue
from console_service.gateway import WORK_ORDERS, GatewayError
from console_service.sessions import Session
from console_service.settings import DEV_ROLES
from console_service.web import CtxDep, PostCtx
from shared.auth.tokens import TokenVerifier
from shared.errors import Unauthorized

router = APIRouter()

MAX_TOKEN_CHARS = 3000
SOURCE_TYPES = ("TENANT", "EXTERNAL", "CHANNEL")


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


@router.get("/")
async def home(ctx: CtxDep) -> Response:
    """The queue for a signed-in user, else the sign-in page."""
    return ctx.redirect("/work-orders" if ctx.viewer else "/login")


@router.get("/login")
async def login_page(ctx: CtxDep) -> Response:
    """The sign-in page: dev logins in dev, a token from the identity provider everywhere."""
    return ctx.render("login.html", roles=list(DEV_ROLES), error=None)


async def _form(ctx: Any) -> dict[str, str]:
    form = await ctx.request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/login/dev")
async def dev_login(ctx: PostCtx) -> Response:
    """Dev only: a token from the gateway's dev login for the chosen role."""
    if not ctx.settings.is_dev:
        return ctx.render("login.html", status_code=404, roles=[], error="dev login is off here")
    role = (await _form(ctx)).get("role", "")
    if role not in DEV_ROLES:
        return ctx.render("login.html", status_code=422, roles=list(DEV_ROLES), error="choose a role")
    body = {
        "aud": "web",
        "tenant_id": ctx.settings.dev_tenant_id,
        "user_id": ctx.settings.dev_user_id,
        "sub": ctx.settings.dev_user_id,
        "roles": list(DEV_ROLES[role]),
        "capabilities": [],
    }
    try:
        token = await ctx.gateway.login(body)
    except GatewayError as error:
        return ctx.render("login.html", status_code=502, roles=list(DEV_ROLES), error=error.message)
    ctx.replace_session(ctx.session.signed_in(token, role))
    return ctx.redirect("/work-orders")


@router.post("/login/token")
async def token_login(ctx: PostCtx) -> Response:
    """A bearer token issued by the configured identity provider, verified against its JWKS."""
    token = (await _form(ctx)).get("token", "").strip()
    roles = list(DEV_ROLES) if ctx.settings.is_dev else []
    if not token or len(token) > MAX_TOKEN_CHARS:
        return ctx.render(
            "login.html", status_code=422, roles=roles, error="paste a token (at most 3000 characters)"
        )
    verifier = TokenVerifier(
        secret=ctx.settings.jwt_secret.get_secret_value(),
        jwks_url=ctx.settings.jwks_url,
        audiences=ctx.settings.jwt_audiences,
    )
    try:
        principal = await verifier.verify(token)
    except Unauthorized as error:
        return ctx.render("login.html", status_code=401, roles=roles, error=f"token refused: {error.message}")
    ctx.replace_session(ctx.session.signed_in(token, principal.sub))
    return ctx.redirect("/work-orders")


@router.post("/logout")
async def logout(ctx: PostCtx) -> Response:
    """Forget the token (a new anonymous session)."""
    ctx.replace_session(Session.anonymous())
    return ctx.redirect("/login")


@router.get("/work-orders")
async def work_queue(ctx: CtxDep) -> Response:
    """The queue: filters, search, counts per status, badges, pages (a fragment for htmx)."""
    ctx.require_viewer()
    query = queue.QueueQuery.parse(dict(ctx.request.query_params))
    error = None
    items: list[dict[str, Any]] = []
    try:
        items = (await ctx.gateway.get(WORK_ORDERS, query.gateway_params())).get("items", [])
    except GatewayError as exc:
        if exc.status == 401:
            return _signed_out(ctx)
        error = exc.message
    page = queue.build_page(items, query, ctx.settings.page_size)
    template = (
        "partials/queue_table.html" if ctx.request.headers.get("hx-target") == "queue" else "queue.html"
    )
    return ctx.render(template, q=query, page=page, error=error, queue=queue, form={}, form_error=None)


def _signed_out(ctx: Any) -> Response:
    ctx.replace_session(Session.anonymous())
    redirect: Response = ctx.redirect("/login")
    return redirect


@router.post("/work-orders")
async def create_work_order(ctx: PostCtx) -> Response:
    """``POST /v1/repogen/work-orders`` from the create form, then the new work order's page."""
    ctx.require_viewer()
    form = await _form(ctx)
    body: dict[str, Any] = {
        "source_type": form.get("source_type", "TENANT"),
        "report_type": form.get("report_type", ""),
        "bank_name": form.get("bank_name", "").strip(),
        "bank_type": form.get("bank_type", "OTHER"),
    }
    if form.get("assignment_id", "").strip():
        body["assignment_id"] = form["assignment_id"].strip()
    problems = []
    if body["source_type"] not in SOURCE_TYPES:
        problems.append("choose a source")
    if body["report_type"] not in queue.REPORT_TYPES:
        problems.append("choose a report type")
    if body["bank_type"] not in queue.BANK_TYPES:
        problems.append("choose a bank type")
    if not body["bank_name"] or len(body["bank_name"]) > 200:
        problems.append("enter the bank name (at most 200 characters)")
    if not problems:
        try:
            created = await ctx.gateway.post(WORK_ORDERS, body)
        except GatewayError as exc:
            problems.append(exc.message)
        else:
            return ctx.redirect(f"/work-orders/{created['work_order_id']}")
    query = queue.QueueQuery()
    page = queue.build_page([], query, ctx.settings.page_size)
    return ctx.render(
        "queue.html",
        status_code=422,
        q=query,
        page=page,
        error=None,
        queue=queue,
        form=form,
        form_error="; ".join(problems),
    )
