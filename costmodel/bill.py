"""Usage -> cost lines, the way infracost prices a resource: name, unit, quantity, unit price.

``Usage`` is what was (or would be) consumed in some period; ``price`` turns it into a ``Bill``
with one line per billed component, then the free tier and any committed use discount as
negative lines. Money stays float64 until display (``Bill.rounded``).

Free tier (prices.json; docs/facts.md, Prices): per billing account per month, worth the
allowance at Tier 1 prices, applied as a spending discount: the CPU discount is min(CPU spend,
allowance value), the same for memory and requests. Modes: ``all``; ``requests`` (only the 2 M
request allowance: the pricing page's "without free tier" figure keeps it); ``none`` (the
account's free tier is already used elsewhere). A committed use discount applies to the spend
left after the free tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costmodel.prices import BILLING_MODES, FREE_TIER_MODES, PriceBook, Rate, TierRates


@dataclass(frozen=True)
class Usage:
    """Billable quantities over some period (a window, or a month)."""

    billing: str  # request | instance
    active_vcpu_s: float  # request-based: starting or serving; instance-based: whole lifetimes
    active_gib_s: float
    idle_vcpu_s: float = 0.0  # request-based idle minimum instances (0 for instance-based)
    idle_gib_s: float = 0.0
    requests: float = 0.0

    def scaled(self, factor: float) -> Usage:
        return Usage(
            self.billing,
            self.active_vcpu_s * factor,
            self.active_gib_s * factor,
            self.idle_vcpu_s * factor,
            self.idle_gib_s * factor,
            self.requests * factor,
        )


@dataclass(frozen=True)
class CostLine:
    name: str
    unit: str
    quantity: float
    unit_price: float
    cost: float  # quantity * unit_price; negative for discounts
    component: str  # cpu | memory | requests (what a discount applies to)


@dataclass(frozen=True)
class Bill:
    region: str
    tier: str
    billing: str
    lines: tuple[CostLine, ...]
    currency: str = "USD"
    unconfirmed: tuple[str, ...] = field(default_factory=tuple)  # rates no source confirmed
    source: str = ""
    as_of: str = ""

    @property
    def total(self) -> float:
        return float(sum(line.cost for line in self.lines))

    def component(self, name: str) -> float:
        return float(sum(line.cost for line in self.lines if line.component == name))

    def to_dict(self) -> dict[str, object]:
        return {
            "region": self.region,
            "tier": self.tier,
            "billing": self.billing,
            "currency": self.currency,
            "lines": [
                {
                    "name": ln.name,
                    "unit": ln.unit,
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "cost": ln.cost,
                }
                for ln in self.lines
            ],
            "total": self.total,
            "unconfirmed_rates": list(self.unconfirmed),
            "price_source": self.source,
            "prices_as_of": self.as_of,
        }


def _line(name: str, unit: str, qty: float, price: float, comp: str) -> CostLine:
    return CostLine(name, unit, qty, price, qty * price, comp)


def price(
    usage: Usage,
    book: PriceBook,
    region: str,
    *,
    free_tier: str = "all",
    cud: str | None = None,
) -> Bill:
    """Price ``usage`` in ``region``; raises CannotEstimate for an unknown region."""
    if usage.billing not in BILLING_MODES:
        raise ValueError(f"billing must be one of {BILLING_MODES}, not {usage.billing!r}")
    if free_tier not in FREE_TIER_MODES:
        raise ValueError(f"free_tier must be one of {FREE_TIER_MODES}, not {free_tier!r}")
    rates = book.rates(region)
    if usage.billing == "request":
        lines = _request_lines(usage, rates)
        cpu_rate, mem_rate = rates.cpu_active, rates.memory_active
    else:
        lines = _instance_lines(usage, rates)
        cpu_rate, mem_rate = rates.instance_cpu, rates.instance_memory
    if free_tier != "none":
        rated = (cpu_rate, mem_rate, rates.requests)
        lines += _free_tier_lines(lines, usage.billing, book, free_tier, rated)
    chosen = book.cud(cud)
    if chosen is not None and usage.billing in chosen.billing:
        eligible = sum(ln.cost for ln in lines if ln.component in chosen.applies_to)
        if eligible > 0:
            lines.append(
                CostLine(
                    chosen.label,
                    "USD",
                    eligible,
                    -chosen.discount,
                    -eligible * chosen.discount,
                    "discount",
                )
            )
    return Bill(
        region=region,
        tier=rates.tier,
        billing=usage.billing,
        lines=tuple(lines),
        currency=book.currency,
        unconfirmed=rates.unconfirmed(usage.billing),
        source=book.source,
        as_of=book.as_of,
    )


def _request_lines(usage: Usage, rates: TierRates) -> list[CostLine]:
    """Request-based billing: active CPU and memory, idle min instances, requests."""
    cpu_rate, mem_rate = rates.cpu_active, rates.memory_active
    lines = [
        _line("CPU (active)", cpu_rate.unit, usage.active_vcpu_s, cpu_rate.price, "cpu"),
        _line("Memory (active)", mem_rate.unit, usage.active_gib_s, mem_rate.price, "memory"),
    ]
    if usage.idle_vcpu_s > 0 or usage.idle_gib_s > 0:
        cpu_idle, mem_idle = rates.cpu_idle, rates.memory_idle
        lines += [
            _line(
                "CPU (idle min instances)", cpu_idle.unit, usage.idle_vcpu_s, cpu_idle.price, "cpu"
            ),
            _line(
                "Memory (idle min instances)",
                mem_idle.unit,
                usage.idle_gib_s,
                mem_idle.price,
                "memory",
            ),
        ]
    req = rates.requests
    lines.append(_line("Requests", req.unit, usage.requests / 1e6, req.price, "requests"))
    return lines


def _instance_lines(usage: Usage, rates: TierRates) -> list[CostLine]:
    """Instance-based billing: every instance's whole life, CPU and memory."""
    cpu_rate, mem_rate = rates.instance_cpu, rates.instance_memory
    return [
        _line(
            "CPU (instance lifetime)",
            cpu_rate.unit,
            usage.active_vcpu_s + usage.idle_vcpu_s,
            cpu_rate.price,
            "cpu",
        ),
        _line(
            "Memory (instance lifetime)",
            mem_rate.unit,
            usage.active_gib_s + usage.idle_gib_s,
            mem_rate.price,
            "memory",
        ),
    ]


def _free_tier_lines(
    lines: list[CostLine],
    billing: str,
    book: PriceBook,
    free_tier: str,
    rated: tuple[Rate, Rate, Rate],
) -> list[CostLine]:
    """The free tier as negative lines: per component, min(spend, the allowance's value),
    expressed in the component's own unit at its (active) rate (``rated``: the CPU, memory and
    requests rates)."""
    cpu_free, mem_free, req_free = book.free_tier_value(billing)
    allow = book.free_tier[billing]
    if free_tier == "requests":
        cpu_free = mem_free = 0.0
    spend = {
        c: sum(ln.cost for ln in lines if ln.component == c) for c in ("cpu", "memory", "requests")
    }
    cpu_rate, mem_rate, req_rate = rated
    out = []
    for comp, value, rate, label in (
        ("cpu", cpu_free, cpu_rate, f"{allow.vcpu_s:,.0f} vCPU-s"),
        ("memory", mem_free, mem_rate, f"{allow.gib_s:,.0f} GiB-s"),
        ("requests", req_free, req_rate, f"{allow.requests / 1e6:g} M requests"),
    ):
        discount = min(spend[comp], value)
        if discount > 0:
            out.append(
                CostLine(
                    f"Free tier: {comp} ({label} a month)",
                    rate.unit,
                    discount / rate.price,
                    -rate.price,
                    -discount,
                    comp,
                )
            )
    return out


def money(value: float) -> str:
    """Display rounding: dollars to the cent (only at display)."""
    sign = "-" if value < -0.005 else ""
    return f"{sign}${abs(value):,.2f}"
