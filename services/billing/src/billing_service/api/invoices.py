"""``/v1/service-invoices/*`` and its alias ``/v1/invoices/*`` (domain.md §9.3): request model → command
→ handler → view, in the caller's tenant unit of work (RLS).

Every write takes an optional ``Idempotency-Key`` header (required by remind): the same key with the
same request answers the invoice as it is now (remind: the stored answer); with another request 409
``IDEMPOTENCY_KEY_REUSED``. Writes that change a work order's acceptance invoice answer the work
order's billing version in ``x-zenops-version`` (read your writes through the factory's gate view).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from billing_service import invoice_views as iv
from billing_service.api._edge import WAIT_FAILURE, SearchQuery, uuid_or_404
from billing_service.api._invoice_bodies import (
    AdjustmentBody,
    CreateBody,
    IssueBody,
    MarkPaidBody,
    PaymentBody,
    PaymentProofBody,
    UpdateBody,
    VoidBody,
    items_of,
)
from billing_service.domain.errors import (
    AccountNotFound,
    AmountExceedsDue,
    AmountNotPositive,
    IdempotencyKeyReused,
    IdNotFound,
    InvalidAmount,
    InvalidExternalKey,
    InvoiceAlreadyIssued,
    InvoiceAlreadySettled,
    InvoiceHasPayments,
    InvoiceNotAdjustable,
    InvoiceNotDraft,
    InvoiceNotPayable,
    InvoiceNotRemindable,
    InvoiceNotSendable,
)
from billing_service.domain.invoice_book import (
    InvoiceCaller,
    assert_can_read,
    assert_can_write,
    body_request_hash,
)
from billing_service.domain.invoice_errors import (
    InvalidCursor,
    InvalidInvoiceFilter,
    InvoiceAccountMismatch,
    InvoiceIdempotencyKeyRequired,
    InvoiceNotFound,
    InvoiceReadForbidden,
    InvoiceTenantRequired,
    InvoiceWriteForbidden,
    PaymentProofDocumentUnknown,
    PortalInvoiceWriteForbidden,
    ReasonRequired,
)
from billing_service.domain.invoices import issue_request_hash
from billing_service.domain.money import Money
from billing_service.handlers.invoice_common import IdempotencyKey, InvoiceActor, InvoiceChanged, load_invoice
from billing_service.handlers.invoice_documents import document_known
from billing_service.handlers.invoice_drafts import (
    CreateInvoice,
    UpdateInvoice,
    create_invoice,
    update_invoice,
)
from billing_service.handlers.invoice_lifecycle import (
    IssueInvoice,
    SendInvoice,
    VoidInvoice,
    issue_invoice,
    send_invoice,
    void_invoice,
)
from billing_service.handlers.invoice_notes import (
    AddPaymentProof,
    RemindInvoice,
    add_payment_proof,
    remind_invoice,
)
from billing_service.handlers.invoice_payments import (
    AddAdjustment,
    MarkPaid,
    RecordPayment,
    add_adjustment,
    mark_paid,
    record_payment,
)
from billing_service.handlers.invoice_pdf import invoice_pdf
from billing_service.handlers.invoice_queries import (
    InvoiceDetail,
    ListInvoices,
    ShowInvoice,
    detail_of,
    invoice_context,
    list_invoices,
    show_invoice,
)
from billing_service.rendering.invoice_pdf import PDF_MEDIA_TYPE
from billing_service.repositories.invoice_book import NewAttachment
from shared.api import Caller, ContainerDep, errors
from shared.auth.principal import Principal
from shared.consistency import wait_budget_ms, wait_until
from shared.container import ServiceContainer, version_token
from shared.db.uow import UnitOfWork
from shared.validation import MAX_PAGE_LIMIT, Code, Key

IdempotencyHeader = Annotated[Key | None, Header(alias="idempotency-key")]
NEXT_CURSOR_HEADER = "x-next-cursor"

_FAILED_WRITE = (
    InvoiceNotFound,
    IdNotFound,
    InvoiceTenantRequired,
    InvoiceWriteForbidden,
    PortalInvoiceWriteForbidden,
    IdempotencyKeyReused,
)
_FAILED_READ = (InvoiceNotFound, IdNotFound, InvoiceTenantRequired, InvoiceReadForbidden)


# --- helpers ----------------------------------------------------------------------------------------------


def _caller(principal: Principal) -> InvoiceCaller:
    return InvoiceCaller(
        principal.tenant_id, principal.is_super, principal.is_portal, frozenset(principal.capabilities)
    )


def _reader(principal: Principal) -> InvoiceActor:
    return InvoiceActor(assert_can_read(_caller(principal)), principal.user_id)


def _writer(principal: Principal) -> InvoiceActor:
    return InvoiceActor(assert_can_write(_caller(principal)), principal.user_id)


def _invoice_id(value: str) -> str:
    return uuid_or_404(value, "invoice")


def _key(action: str, invoice_id: str, key: str | None, params: dict[str, Any]) -> IdempotencyKey | None:
    if not key:
        return None
    return IdempotencyKey(f"invoice_{action}", key, body_request_hash(action, invoice_id, params))


async def _answer(uow: UnitOfWork, changed: InvoiceChanged, response: Response) -> iv.InvoiceDetailView:
    if changed.work_order_version is not None:
        work_order_id, version = changed.work_order_version
        response.headers["x-zenops-version"] = version_token(
            "billing", "work-order-billing", work_order_id, version
        )
    detail: InvoiceDetail = await detail_of(uow, changed.header)
    return iv.invoice_detail(detail)


async def _write(
    c: ServiceContainer[Any], principal: Principal, response: Response, run: Any
) -> iv.InvoiceDetailView:
    async with c.tenant_uow(principal) as uow:
        changed: InvoiceChanged = await run(uow)
        view = await _answer(uow, changed, response)
        await uow.commit()
    return view


async def _await_document(
    c: ServiceContainer[Any], principal: Principal, tenant_id: str, storage_key: str, request: Request
) -> None:
    """Read your writes for a document uploaded a moment ago: wait (within the ``wait`` budget) until
    billing saw it announced; the handler then refuses a key that is still unknown."""
    settings = c.settings
    budget_ms = wait_budget_ms(
        request.query_params.get("wait"), default_ms=settings.wait_default_ms, max_ms=settings.wait_max_ms
    )

    async def seen() -> bool | None:
        async with c.tenant_uow(principal) as uow:
            return True if await document_known(uow, tenant_id, storage_key) else None

    await wait_until(seen, timeout_s=budget_ms / 1000, interval_s=0.05, max_interval_s=0.5)


PDF_HASH_HEADER = "x-zenops-invoice-sha256"

#: the PDF route's 200: the document, not JSON
_PDF: dict[str, Any] = {
    "description": "The invoice as a PDF (byte-identical for the same invoice state)",
    "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        PDF_HASH_HEADER: {
            "description": "SHA-256 of the invoice's canonical JSON state, as printed on the PDF",
            "schema": {"type": "string"},
        },
        "content-disposition": {
            "description": "inline; the invoice's file name",
            "schema": {"type": "string"},
        },
    },
}

#: the list's 200 documents the next page's cursor header
_NEXT_PAGE: dict[str, Any] = {
    "headers": {
        NEXT_CURSOR_HEADER: {
            "description": "Cursor of the next page (absent on the last page): pass it as ?cursor=",
            "schema": {"type": "string"},
        }
    }
}


def invoice_routes(prefix: str) -> APIRouter:
    """The §9.3 routes under ``prefix`` (declared once for both paths)."""
    router = APIRouter()
    tag = prefix.rsplit("/", 1)[-1]

    @router.get(
        prefix,
        response_model=list[iv.InvoiceSummaryView],
        responses={**errors(*_FAILED_READ, InvalidCursor, InvalidInvoiceFilter), 200: _NEXT_PAGE},
        name=f"{tag}_list",
    )
    async def list_route(
        response: Response,
        principal: Caller,
        c: ContainerDep,
        status: Annotated[Code | None, Query()] = None,
        account_id: Annotated[Key | None, Query()] = None,
        overdue: Annotated[bool | None, Query()] = None,
        issued_from: Annotated[date | None, Query()] = None,
        issued_to: Annotated[date | None, Query()] = None,
        search: SearchQuery = None,
        cursor: Annotated[Key | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT)] = 100,
    ) -> list[iv.InvoiceSummaryView]:
        """Invoices of the caller's tenant, newest first; the next page's cursor in ``x-next-cursor``."""
        actor = _reader(principal)
        query = ListInvoices(
            actor,
            status=status,
            account_id=uuid_or_404(account_id, "billing account") if account_id else None,
            overdue=overdue,
            issued_from=issued_from,
            issued_to=issued_to,
            search=search,
            cursor=cursor,
            limit=limit,
        )
        async with c.tenant_uow(principal) as uow:
            page = await list_invoices(uow, query)
        if page.next_cursor:
            response.headers[NEXT_CURSOR_HEADER] = page.next_cursor
        return [iv.invoice_summary(h) for h in page.invoices]

    @router.post(
        prefix,
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(
            *_FAILED_WRITE, AccountNotFound, InvalidExternalKey, InvoiceAccountMismatch, InvalidAmount
        ),
        name=f"{tag}_create",
    )
    async def create_route(
        body: CreateBody,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """A draft invoice (§7.6 create)."""
        actor = _writer(principal)
        command = CreateInvoice(
            actor=actor,
            items=items_of(body.items) or (),
            account_id=str(body.account_id) if body.account_id else None,
            external_key=body.external_key,
            assignment_id=str(body.assignment_id) if body.assignment_id else None,
            channel_request_id=str(body.channel_request_id) if body.channel_request_id else None,
            issued_date=body.issued_date,
            due_date=body.due_date,
            bill_to_name=body.bill_to_name,
            bill_to_address=body.bill_to_address,
            notes=body.notes,
            idempotency=_key("create", "", idempotency_key, body.model_dump(mode="json")),
        )
        return await _write(c, principal, response, lambda uow: create_invoice(uow, command))

    @router.get(
        f"{prefix}/{{invoice_id}}",
        response_model=iv.InvoiceDetailView,
        responses=errors(*_FAILED_READ),
        name=f"{tag}_get",
    )
    async def get_route(invoice_id: str, principal: Caller, c: ContainerDep) -> iv.InvoiceDetailView:
        """One invoice with lines, payments, credits, attachments and audit trail."""
        actor = _reader(principal)
        async with c.tenant_uow(principal) as uow:
            detail = await show_invoice(uow, ShowInvoice(actor, _invoice_id(invoice_id)))
        return iv.invoice_detail(detail)

    @router.patch(
        f"{prefix}/{{invoice_id}}",
        response_model=iv.InvoiceDetailView,
        responses=errors(*_FAILED_WRITE, InvoiceNotDraft, InvalidAmount),
        name=f"{tag}_update",
    )
    async def update_route(
        invoice_id: str,
        body: UpdateBody,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """Edit a draft (409 once issued)."""
        actor = _writer(principal)
        iid = _invoice_id(invoice_id)
        changes = body.model_dump(include=body.model_fields_set - {"items"})
        command = UpdateInvoice(
            actor,
            iid,
            changes,
            items_of(body.items) if "items" in body.model_fields_set else None,
            _key("update", iid, idempotency_key, body.model_dump(mode="json", exclude_unset=True)),
        )
        return await _write(c, principal, response, lambda uow: update_invoice(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/issue",
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(*_FAILED_WRITE, InvoiceAlreadyIssued),
        name=f"{tag}_issue",
    )
    async def issue_route(
        invoice_id: str,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        body: IssueBody | None = None,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """Number and date a draft (decisions 12, 13)."""
        actor = _writer(principal)
        iid = _invoice_id(invoice_id)
        given = body or IssueBody()
        idem = None
        if idempotency_key:
            digest = issue_request_hash(iid, given.issued_date, given.due_date)
            idem = IdempotencyKey("invoice_issue", idempotency_key, digest)
        command = IssueInvoice(actor, iid, given.issued_date, given.due_date, idem)
        return await _write(c, principal, response, lambda uow: issue_invoice(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/send",
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(*_FAILED_WRITE, InvoiceNotSendable),
        name=f"{tag}_send",
    )
    async def send_route(
        invoice_id: str,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """Mark as sent."""
        actor = _writer(principal)
        iid = _invoice_id(invoice_id)
        command = SendInvoice(actor, iid, _key("send", iid, idempotency_key, {}))
        return await _write(c, principal, response, lambda uow: send_invoice(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/void",
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(*_FAILED_WRITE, ReasonRequired, InvoiceHasPayments),
        name=f"{tag}_void",
    )
    async def void_route(
        invoice_id: str,
        body: VoidBody,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """Void with a reason (a void invoice stays as it is)."""
        actor = _writer(principal)
        iid = _invoice_id(invoice_id)
        command = VoidInvoice(actor, iid, body.reason, _key("void", iid, idempotency_key, body.model_dump()))
        return await _write(c, principal, response, lambda uow: void_invoice(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/payments",
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(
            *_FAILED_WRITE,
            InvoiceNotPayable,
            AmountNotPositive,
            InvoiceAlreadySettled,
            AmountExceedsDue,
            InvalidAmount,
        ),
        name=f"{tag}_payment",
    )
    async def payment_route(
        invoice_id: str,
        body: PaymentBody,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """Record a full or partial payment."""
        actor = _writer(principal)
        command = RecordPayment(
            actor,
            _invoice_id(invoice_id),
            Money.of(body.amount),
            body.mode,
            body.reference,
            body.notes,
            idempotency_key,
        )
        return await _write(c, principal, response, lambda uow: record_payment(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/mark-paid",
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(
            *_FAILED_WRITE,
            InvoiceNotPayable,
            AmountNotPositive,
            InvoiceAlreadySettled,
            AmountExceedsDue,
            InvalidAmount,
        ),
        name=f"{tag}_mark_paid",
    )
    async def mark_paid_route(
        invoice_id: str,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        body: MarkPaidBody | None = None,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """Settle the amount due (or the given amount) as one payment."""
        actor = _writer(principal)
        given = body or MarkPaidBody()
        command = MarkPaid(
            actor,
            _invoice_id(invoice_id),
            Money.of(given.amount) if given.amount is not None else None,
            given.mode,
            given.reference,
            given.notes,
            idempotency_key,
        )
        return await _write(c, principal, response, lambda uow: mark_paid(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/adjustments",
        status_code=201,
        response_model=iv.InvoiceDetailView,
        responses=errors(*_FAILED_WRITE, InvoiceNotAdjustable, AmountNotPositive, InvalidAmount),
        name=f"{tag}_adjustment",
    )
    async def adjustment_route(
        invoice_id: str,
        body: AdjustmentBody,
        response: Response,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.InvoiceDetailView:
        """A credit note."""
        actor = _writer(principal)
        iid = _invoice_id(invoice_id)
        command = AddAdjustment(
            actor,
            iid,
            Money.of(body.amount),
            body.adjustment_type,
            body.reason,
            _key("adjustment", iid, idempotency_key, body.model_dump(mode="json")),
        )
        return await _write(c, principal, response, lambda uow: add_adjustment(uow, command))

    @router.post(
        f"{prefix}/{{invoice_id}}/remind",
        status_code=201,
        response_model=iv.ReminderView,
        responses=errors(*_FAILED_WRITE, InvoiceNotRemindable, InvoiceIdempotencyKeyRequired),
        name=f"{tag}_remind",
    )
    async def remind_route(
        invoice_id: str, principal: Caller, c: ContainerDep, idempotency_key: IdempotencyHeader = None
    ) -> iv.ReminderView:
        """Record a payment reminder (``Idempotency-Key`` required)."""
        actor = _writer(principal)
        command = RemindInvoice(actor, _invoice_id(invoice_id), idempotency_key)
        async with c.tenant_uow(principal) as uow:
            answer = await remind_invoice(uow, command)
            await uow.commit()
        return iv.reminder(answer)

    @router.get(
        f"{prefix}/{{invoice_id}}/context",
        response_model=iv.InvoiceContextView,
        responses=errors(*_FAILED_READ),
        name=f"{tag}_context",
    )
    async def context_route(invoice_id: str, principal: Caller, c: ContainerDep) -> iv.InvoiceContextView:
        """The invoice and its account."""
        actor = _reader(principal)
        async with c.tenant_uow(principal) as uow:
            context = await invoice_context(uow, ShowInvoice(actor, _invoice_id(invoice_id)))
        return iv.invoice_context(context)

    @router.get(
        f"{prefix}/{{invoice_id}}/pdf",
        response_class=Response,
        responses={**errors(*_FAILED_READ), 200: _PDF},
        name=f"{tag}_pdf",
    )
    async def pdf_route(invoice_id: str, principal: Caller, c: ContainerDep) -> Response:
        """The invoice as a PDF (decision 33): byte-identical for the same invoice state, with the
        SHA-256 of its canonical JSON state printed on it and answered in ``x-zenops-invoice-sha256``."""
        actor = _reader(principal)
        async with c.tenant_uow(principal) as uow:
            pdf = await invoice_pdf(uow, ShowInvoice(actor, _invoice_id(invoice_id)))
        return Response(
            content=pdf.content,
            media_type=PDF_MEDIA_TYPE,
            headers={
                "content-disposition": f'inline; filename="{pdf.filename}"',
                PDF_HASH_HEADER: pdf.sha256,
            },
        )

    @router.post(
        f"{prefix}/{{invoice_id}}/payment-proof",
        status_code=201,
        response_model=iv.PaymentProofView,
        responses=errors(
            *_FAILED_READ,
            IdempotencyKeyReused,
            PortalInvoiceWriteForbidden,
            PaymentProofDocumentUnknown,
            WAIT_FAILURE,
        ),
        name=f"{tag}_payment_proof",
    )
    async def payment_proof_route(
        invoice_id: str,
        body: PaymentProofBody,
        request: Request,
        principal: Caller,
        c: ContainerDep,
        idempotency_key: IdempotencyHeader = None,
    ) -> iv.PaymentProofView:
        """Attach a payment proof (read permission, as §9.3: portal users upload their proofs)."""
        actor = _reader(principal)
        iid = _invoice_id(invoice_id)
        if principal.is_portal and body.kind.lower() != "payment_proof":
            raise PortalInvoiceWriteForbidden(details={"kind": body.kind.upper()})
        attachment = NewAttachment(
            body.kind.lower(),
            body.original_name,
            body.storage_key,
            body.mime_type,
            body.size_bytes or 0,
            principal.user_id,
        )
        command = AddPaymentProof(
            actor, iid, attachment, _key("payment_proof", iid, idempotency_key, body.model_dump(mode="json"))
        )
        async with c.tenant_uow(principal) as uow:
            await load_invoice(uow, actor, iid)  # 404 first: no wait for a document of no invoice
        await _await_document(c, principal, actor.tenant_id, body.storage_key, request)
        async with c.tenant_uow(principal) as uow:
            row = await add_payment_proof(uow, command)
            await uow.commit()
        return iv.payment_proof(row)

    return router


router = APIRouter()
router.include_router(invoice_routes("/v1/service-invoices"))
router.include_router(invoice_routes("/v1/invoices"))
