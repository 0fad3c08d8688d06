"""The store's tables (SQLAlchemy 2.x), shaped so tau2-bench's retail database imports without loss."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Money = Numeric(12, 2)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, Decimal: Money}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    address: Mapped[dict[str, Any]]
    """``address1, address2, city, state, country, zip`` as in tau2."""
    password_hash: Mapped[str | None] = mapped_column(String(255))
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Support flags such as ``{"vip": true}`` or ``{"at_risk": true}``."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    payment_methods: Mapped[list[PaymentMethod]] = relationship(back_populates="customer")
    orders: Mapped[list[Order]] = relationship(back_populates="customer", order_by="Order.placed_at.desc()")

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PaymentMethod(Base):
    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    """``credit_card``, ``paypal`` or ``gift_card``."""
    brand: Mapped[str | None] = mapped_column(String(32))
    last_four: Mapped[str | None] = mapped_column(String(4))
    balance: Mapped[Decimal | None]
    """Remaining balance of a gift card."""

    customer: Mapped[Customer] = relationship(back_populates="payment_methods")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(64))

    variants: Mapped[list[Variant]] = relationship(back_populates="product")


class Variant(Base):
    __tablename__ = "variants"

    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    options: Mapped[dict[str, Any]]
    available: Mapped[bool]
    price: Mapped[Decimal]

    product: Mapped[Product] = relationship(back_populates="variants")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Public order id such as ``#W1234567``."""
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    """tau2's words: ``pending``, ``processed``, ``delivered``, ``cancelled``, ``return requested``,
    ``exchange requested``, plus ``shipped`` for orders on their way."""
    address: Mapped[dict[str, Any]]
    placed_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Fields tau2 keeps on an order that have no column (cancel reason, exchange details...)."""

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.position")
    fulfillments: Mapped[list[Fulfillment]] = relationship(back_populates="order")
    payments: Mapped[list[Payment]] = relationship(back_populates="order", order_by="Payment.position")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int]
    item_id: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal]
    options: Mapped[dict[str, Any]]

    order: Mapped[Order] = relationship(back_populates="items")


class Fulfillment(Base):
    __tablename__ = "fulfillments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    tracking_id: Mapped[str] = mapped_column(String(64), index=True)
    carrier: Mapped[str | None] = mapped_column(String(64))
    item_ids: Mapped[list[Any]]

    order: Mapped[Order] = relationship(back_populates="fulfillments")
    events: Mapped[list[TrackingEvent]] = relationship(back_populates="fulfillment", order_by="TrackingEvent.at")


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    fulfillment_id: Mapped[int] = mapped_column(ForeignKey("fulfillments.id"), index=True)
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(128))

    fulfillment: Mapped[Fulfillment] = relationship(back_populates="events")


class Payment(Base):
    """One line of an order's payment history (tau2 ``payment_history``)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int]
    transaction_type: Mapped[str] = mapped_column(String(16))
    """``payment`` or ``refund``."""
    amount: Mapped[Decimal]
    payment_method_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="payments")


class Conversation(Base):
    """Who a conversation belongs to; its messages live in the graph's checkpoints."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    """``customer:<id>`` for a signed-in customer or ``anon:<session>`` for an anonymous one."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_event_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    """The number of its newest event: events are numbered by raising it (``api.event_log``)."""


class TurnLease(Base):
    """The turn in progress in a conversation, held by one server process until ``expires_at`` (seconds since the
    epoch, the database's clock) unless that process renews it (``api.turn_leases``)."""

    __tablename__ = "turn_leases"

    conversation_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("conversations.id", name="fk_turn_leases_conversation", ondelete="CASCADE"),
        primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), index=True)
    """The server process running the turn."""
    expires_at: Mapped[float] = mapped_column(index=True)


class ToolCall(Base):
    """Audit log: every tool call the agent made, with its outcome and the policy version it ran under."""

    __tablename__ = "tool_calls"
    __table_args__ = (Index("ix_tool_calls_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]]
    outcome: Mapped[str] = mapped_column(String(16))
    """``done``, ``denied``, ``needs_approval``, ``failed`` or ``retry``."""
    rule: Mapped[str | None] = mapped_column(String(64))
    """The policy rule that decided a ``denied`` or ``needs_approval`` outcome."""
    result: Mapped[dict[str, Any]]
    policy_version: Mapped[int]
    actor: Mapped[str] = mapped_column(String(128), default="agent")
    """``agent`` for the bot, ``staff:<id>`` when a person approved the call."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    """Money going back for one order item; the unique item makes refunds exactly-once."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), unique=True)
    amount: Mapped[Decimal]
    payment_method_id: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(128))
    """Staff member who approved a refund outside policy; None when policy allowed it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyException(Base):
    """A tool call outside policy that a person may approve; recorded, never executed by the bot."""

    __tablename__ = "policy_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]]
    rule: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    """Why policy does not allow it, for the human who decides."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """``pending``, ``approved`` or ``denied``."""
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordResetToken(Base):
    """A single-use, expiring password-reset token; only its SHA-256 is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """An email to send, written in the same transaction as what it tells; the mail sender delivers it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    """``pending`` (waiting to be sent or retried), ``sending`` (claimed by a sender until ``claimed_until``),
    ``sent`` or ``failed`` (gave up after the last retry)."""
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    """Not before this time (a retry's backoff); empty: as soon as possible."""
    claimed_until: Mapped[datetime | None]
    """A claim's lease: a sender that dies mid-send leaves the message to be claimed again after this."""
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class ServiceSecret(Base):
    """A secret the service generated for itself on first start (the token-signing key), shared by every process
    on the database."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthAttempt(Base):
    """One identity check (verification, password reset), for rate limits and lock-outs."""

    __tablename__ = "auth_attempts"
    __table_args__ = (Index("ix_auth_attempts_subject", "subject", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(128))
    """What is being protected: ``identity:<hash of the claimed email or name>``, ``address:<client address>``,
    ``customer:<id>``."""
    kind: Mapped[str] = mapped_column(String(32))
    succeeded: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(Base):
    """A conversation waiting for (or taken by) a human agent."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    """``open`` (waiting or with a person), ``resolved``, or ``returned`` (handed back to the bot)."""
    ticket: Mapped[bool] = mapped_column(default=False)
    """Opened outside business hours: answered later rather than live."""
    exception_id: Mapped[int | None] = mapped_column(ForeignKey("policy_exceptions.id"))
    """The policy exception waiting for this person's decision, if any."""
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationEvent(Base):
    """One event of a conversation's stream, in order, so a client that reconnects gets exactly what it missed."""

    __tablename__ = "conversation_events"

    conversation_id: Mapped[str] = mapped_column(String(64), ForeignKey("conversations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    """1, 2, 3... within the conversation; the SSE event id is ``<conversation_id>:<seq>``."""
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    """The event's JSON body, ``type`` included (see ``agent.events``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """What a customer thought: thumbs up or down on one reply (``reply_seq``: the seq of its
    ``message_completed`` event), or the 1-5 rating of the whole conversation with a comment (``reply_seq`` 0).
    Deleted with the conversation."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("conversation_id", "reply_seq", name="uq_feedback_reply"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(64), ForeignKey("conversations.id"))
    reply_seq: Mapped[int]
    helpful: Mapped[bool | None]
    rating: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the customer gave it (a change updates it)."""


class ConversationOutcome(Base):
    """How a conversation went, updated after every turn (see ``tools.outcomes``); no customer data, and the
    conversation's id is removed when the conversation is deleted."""

    __tablename__ = "conversation_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    last_customer_at: Mapped[datetime]
    """When the customer last wrote."""
    turns: Mapped[int]
    last_turn: Mapped[str] = mapped_column(String(16))
    """How the last turn ended: ``answered``, ``waiting`` or ``unresolved``."""
    handed_off_at: Mapped[datetime | None]
    trigger: Mapped[str | None] = mapped_column(String(64))
    """Why it went to a person (the escalation reason)."""
    queue: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[int | None]
    """The customer's 1-5 rating of the conversation, kept for the insights when the conversation is deleted."""
    demo: Mapped[bool] = mapped_column(default=False)
    """Seeded demo history, never counted with real conversations."""


class TurnRecord(Base):
    """What one turn did, for the insights: how it ended, what was asked, how fast the first text came, which
    tools and rails acted. The only customer text is a question the agent could not answer, removed with the
    conversation."""

    __tablename__ = "turn_records"
    __table_args__ = (Index("ix_turn_records_at", "demo", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
    ending: Mapped[str] = mapped_column(String(16))
    request: Mapped[str] = mapped_column(String(32))
    """What the customer asked for (the router's intent)."""
    path: Mapped[str] = mapped_column(String(64))
    """How the message was read: fast path, planner or router."""
    first_text_ms: Mapped[int | None]
    unanswered: Mapped[str | None] = mapped_column(Text)
    rails: Mapped[list[Any]] = mapped_column(default=list)
    """Guardrail rules that intervened."""
    tools: Mapped[list[Any]] = mapped_column(default=list)
    """``[tool, outcome]`` of each tool call."""
    demo: Mapped[bool] = mapped_column(default=False)


class PolicyVersion(Base):
    """One accepted version of the policy document; the highest version is in force everywhere."""

    __tablename__ = "policy_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]]
    author: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    """``seed``, ``api``, ``file`` (hand edit of the YAML file) or ``rollback``."""
    diff: Mapped[str] = mapped_column(Text, default="")
    """Unified diff of the YAML against the previous version."""
    file_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the policy file when this version came from it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleVersion(Base):
    """One version of a help-center article; an article's highest version is the one in force (``retired``:
    taken down), and the highest ``id`` across all articles numbers the whole help center's state."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("slug", "version", name="uq_article_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    """Markdown below the title, ``{placeholders}`` unrendered."""
    retired: Mapped[bool] = mapped_column(default=False)
    author: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text, default="")
    """Unified diff of the article's text against its previous version."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateBucket(Base):
    """One rate limit's token bucket, shared by every server process on a PostgreSQL store (``api.shared_limits``);
    times are the database's clock, in seconds since the epoch."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    tokens: Mapped[float]
    counted_at: Mapped[float]
    per_minute: Mapped[int]


class AdmissionLease(Base):
    """A place a server process holds until ``expires_at`` (database clock, seconds since the epoch) unless it
    renews it: a turn's slot for the model or its place in the queue (``turn``), an open event stream
    (``stream``). A process that dies stops renewing, so its places free themselves (``api.leases``)."""

    __tablename__ = "admission_leases"
    __table_args__ = (Index("ix_admission_leases_kind_key", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    """Also the order of arrival in the turn queue."""
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(400))
    """Whom it counts against: the fairness key of a turn, the caller of a stream."""
    owner: Mapped[str] = mapped_column(String(128), index=True)
    """The server process renewing it."""
    waiting: Mapped[bool] = mapped_column(default=False)
    """A turn still waiting for a slot."""
    added_at: Mapped[float]
    started_at: Mapped[float | None]
    """When it got its slot: the turn queue serves the key served longest ago first."""
    expires_at: Mapped[float] = mapped_column(index=True)
    """An ended lease expires at once and is kept a while, as the queue's memory of whom it served."""
