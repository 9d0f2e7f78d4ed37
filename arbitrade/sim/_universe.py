"""The simulated instrument universe, shaped like Kraken's spot market.

About a hundred assets (fiat, stablecoins, a pegged token and crypto) traded over USD, EUR, GBP,
USDT, USDC, BTC, ETH and a few more fiat currencies: several hundred pairs with Kraken's naming
(v2 ``BTC/USD``, REST ``XXBTZUSD``, altname ``XBTUSD``, v1 wsname ``XBT/USD``), precisions,
increments, minimums and statuses. The universe does not depend on the seed: it is the market's
shape, the seed drives only prices.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from arbitrade.sim._errors import UnknownSymbol


class AssetKind(enum.StrEnum):
    """What an asset is; it decides its price process and its pairs' fee schedule."""

    FIAT = "fiat"
    STABLE = "stable"
    PEGGED = "pegged"
    CRYPTO = "crypto"


@attrs.frozen
class Asset:
    """One asset with its v2 name (``BTC``), REST name (``XXBT``) and altname (``XBT``)."""

    name: str
    rest_name: str
    altname: str
    kind: AssetKind
    usd_price: float
    """Reference price in USD that the market model starts from."""
    tier: int
    """Liquidity tier: 1 (BTC, ETH) to 4 (long tail); decides pairs, spreads and activity."""
    decimals: int = 10
    display_decimals: int = 5


@attrs.frozen
class Pair:
    """One tradable pair with Kraken's names and trading rules (integers are decimal places)."""

    symbol: str
    rest_name: str
    altname: str
    wsname: str
    base: Asset
    quote: Asset
    price_precision: int
    qty_precision: int
    cost_precision: int
    ordermin: Decimal
    costmin: Decimal
    status: str
    tier: int

    @property
    def stable_fees(self) -> bool:
        """True when the flat stablecoin/FX schedule applies (base is fiat, stable or pegged)."""
        return self.base.kind is not AssetKind.CRYPTO

    @property
    def price_increment(self) -> Decimal:
        return Decimal(1).scaleb(-self.price_precision)

    @property
    def qty_increment(self) -> Decimal:
        return Decimal(1).scaleb(-self.qty_precision)


# name, REST name, altname, kind, USD price, tier. Prices are rough, for shape only.
_ASSETS = """
USD ZUSD USD fiat 1 1
EUR ZEUR EUR fiat 1.08 1
GBP ZGBP GBP fiat 1.27 1
CAD ZCAD CAD fiat 0.73 2
JPY ZJPY JPY fiat 0.0067 2
CHF CHF CHF fiat 1.12 2
AUD ZAUD AUD fiat 0.66 2
USDT USDT USDT stable 1 1
USDC USDC USDC stable 1 1
DAI DAI DAI stable 1 3
BTC XXBT XBT crypto 60000 1
ETH XETH ETH crypto 3000 1
WBTC WBTC WBTC pegged 60000 3
SOL SOL SOL crypto 150 2
XRP XXRP XRP crypto 0.52 2
ADA ADA ADA crypto 0.45 2
DOGE XXDG XDG crypto 0.12 2
DOT DOT DOT crypto 6.5 2
LINK LINK LINK crypto 14 2
LTC XLTC LTC crypto 80 2
BCH BCH BCH crypto 400 2
AVAX AVAX AVAX crypto 30 2
ATOM ATOM ATOM crypto 8 2
XLM XXLM XLM crypto 0.1 2
TRX TRX TRX crypto 0.12 2
ETC XETC ETC crypto 25 2
UNI UNI UNI crypto 8 2
AAVE AAVE AAVE crypto 90 2
XMR XXMR XMR crypto 150 2
ZEC XZEC ZEC crypto 30 3
POL POL POL crypto 0.5 2
ALGO ALGO ALGO crypto 0.15 3
FIL FIL FIL crypto 5 3
NEAR NEAR NEAR crypto 5 3
APT APT APT crypto 8 3
ARB ARB ARB crypto 0.8 3
OP OP OP crypto 1.8 3
INJ INJ INJ crypto 25 3
SUI SUI SUI crypto 1.1 3
SEI SEI SEI crypto 0.4 3
TIA TIA TIA crypto 6 3
RENDER RENDER RENDER crypto 7 3
GRT GRT GRT crypto 0.2 3
SAND SAND SAND crypto 0.35 3
MANA MANA MANA crypto 0.35 3
AXS AXS AXS crypto 6 3
APE APE APE crypto 1.1 3
CRV CRV CRV crypto 0.3 3
COMP COMP COMP crypto 50 3
MKR MKR MKR crypto 2000 3
SNX SNX SNX crypto 2 3
YFI YFI YFI crypto 6000 3
SUSHI SUSHI SUSHI crypto 0.8 3
LDO LDO LDO crypto 1.8 3
STX STX STX crypto 1.6 3
IMX IMX IMX crypto 1.5 3
SHIB SHIB SHIB crypto 0.00002 3
PEPE PEPE PEPE crypto 0.00001 3
FET FET FET crypto 1.3 3
HBAR HBAR HBAR crypto 0.08 3
ICP ICP ICP crypto 9 3
KSM KSM KSM crypto 25 4
XTZ XTZ XTZ crypto 0.8 4
EOS EOS EOS crypto 0.6 4
DASH DASH DASH crypto 28 4
QTUM QTUM QTUM crypto 3 4
ICX ICX ICX crypto 0.15 4
SC SC SC crypto 0.005 4
KAVA KAVA KAVA crypto 0.4 4
OCEAN OCEAN OCEAN crypto 0.6 4
GALA GALA GALA crypto 0.025 4
BONK BONK BONK crypto 0.00002 4
WIF WIF WIF crypto 2 4
AKT AKT AKT crypto 3 4
ENS ENS ENS crypto 20 4
LRC LRC LRC crypto 0.2 4
BLUR BLUR BLUR crypto 0.3 4
JUP JUP JUP crypto 0.9 4
PYTH PYTH PYTH crypto 0.35 4
STRK STRK STRK crypto 0.6 4
DYDX DYDX DYDX crypto 1.5 4
GMX GMX GMX crypto 25 4
RUNE RUNE RUNE crypto 4 4
MINA MINA MINA crypto 0.6 4
VET VET VET crypto 0.025 4
EGLD EGLD EGLD crypto 30 4
FLR FLR FLR crypto 0.02 4
ONDO ONDO ONDO crypto 1 4
WLD WLD WLD crypto 2 4
CHZ CHZ CHZ crypto 0.07 4
ENJ ENJ ENJ crypto 0.2 4
BAT BAT BAT crypto 0.2 4
FLOW FLOW FLOW crypto 0.6 4
1INCH 1INCH 1INCH crypto 0.35 4
MLN XMLN MLN crypto 15 4
KEEP KEEP KEEP crypto 0.12 4
ANKR ANKR ANKR crypto 0.03 4
BAND BAND BAND crypto 1.2 4
CELO CELO CELO crypto 0.6 4
"""

# Quote currencies by tier of the base asset.
_QUOTES_BY_TIER: dict[int, tuple[str, ...]] = {
    1: ("USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "USDT", "USDC", "DAI", "BTC"),
    2: ("USD", "EUR", "GBP", "USDT", "USDC", "BTC", "ETH"),
    3: ("USD", "EUR", "USDT", "BTC"),
    4: ("USD", "EUR"),
}

# Pairs between fiat currencies, stablecoins and pegged tokens (the stablecoin/FX schedule).
_STABLE_PAIRS = (
    ("USDT", "USD"),
    ("USDC", "USD"),
    ("DAI", "USD"),
    ("USDT", "EUR"),
    ("USDC", "EUR"),
    ("USDT", "GBP"),
    ("USDC", "USDT"),
    ("DAI", "USDT"),
    ("EUR", "USD"),
    ("GBP", "USD"),
    ("EUR", "GBP"),
    ("USD", "CAD"),
    ("USD", "JPY"),
    ("USD", "CHF"),
    ("AUD", "USD"),
    ("EUR", "CAD"),
    ("EUR", "JPY"),
    ("WBTC", "BTC"),
)

# A few pairs that are not online, as on Kraken, so status handling gets exercised.
_NON_ONLINE = {
    "KSM/EUR": "cancel_only",
    "EOS/EUR": "cancel_only",
    "QTUM/EUR": "post_only",
    "ICX/EUR": "limit_only",
    "SC/EUR": "reduce_only",
}

_FIATLIKE = frozenset({AssetKind.FIAT, AssetKind.STABLE})
_SYNTHETIC_PREFIX = "SIM"


def _parse_assets() -> list[Asset]:
    assets = []
    for line in _ASSETS.strip().splitlines():
        name, rest, alt, kind, price, tier = line.split()
        kind_ = AssetKind(kind)
        assets.append(
            Asset(
                name=name,
                rest_name=rest,
                altname=alt,
                kind=kind_,
                usd_price=float(price),
                tier=int(tier),
                decimals=4 if kind_ is AssetKind.FIAT else (6 if kind_ is AssetKind.STABLE else 10),
                display_decimals=2 if kind_ in _FIATLIKE else 5,
            )
        )
    return assets


def _synthetic_assets(count: int) -> list[Asset]:
    """Extra long-tail assets (``SIM001``...) to scale the universe for benchmarks."""
    assets = []
    for index in range(1, count + 1):
        name = f"{_SYNTHETIC_PREFIX}{index:03d}"
        price = 10 ** ((index * 7919) % 9 - 4) * (1 + (index % 5) / 10)
        assets.append(Asset(name, name, name, AssetKind.CRYPTO, price, 3 if index % 3 else 4))
    return assets


def _is_classic(asset: Asset) -> bool:
    return len(asset.rest_name) == 4 and asset.rest_name[0] in "XZ" and asset.rest_name != "USDT"


def _one_significant(value: float) -> Decimal:
    """Round up to one significant digit (5/60000 -> 0.00009), as Kraken's minimums look."""
    exponent = math.floor(math.log10(value))
    leading = math.ceil(value / 10**exponent - 1e-9)
    if leading >= 10:
        leading, exponent = 1, exponent + 1
    return Decimal(format(Decimal(leading).scaleb(exponent), "f"))


def _make_pair(base: Asset, quote: Asset, status: str) -> Pair | None:
    price = base.usd_price / quote.usd_price
    significant = 6 if price >= 1000 else 5
    price_precision = max(0, min(10, significant - 1 - math.floor(math.log10(price))))
    if price * 10**price_precision < 1000:  # ticks too coarse: Kraken would not list it
        return None
    qty_precision = max(0, min(8, math.floor(14 - math.log10(2e5 / base.usd_price))))
    ordermin = max(_one_significant(5 / base.usd_price), Decimal(1).scaleb(-qty_precision))
    costmin = _one_significant(0.5 / quote.usd_price)
    cost_precision = 5 if quote.kind in _FIATLIKE else 10
    if _is_classic(base) and _is_classic(quote):
        rest_name = base.rest_name + quote.rest_name
    elif base.name == "USDT" and quote.name == "USD":
        rest_name = "USDTZUSD"
    else:
        rest_name = base.altname + quote.altname
    return Pair(
        symbol=f"{base.name}/{quote.name}",
        rest_name=rest_name,
        altname=base.altname + quote.altname,
        wsname=f"{base.altname}/{quote.altname}",
        base=base,
        quote=quote,
        price_precision=price_precision,
        qty_precision=qty_precision,
        cost_precision=cost_precision,
        ordermin=ordermin,
        costmin=costmin,
        status=status,
        tier=max(base.tier, quote.tier if quote.kind is AssetKind.CRYPTO else 1),
    )


@attrs.frozen
class Universe:
    """Assets and pairs, with lookups by every name Kraken uses for them."""

    assets: tuple[Asset, ...]
    pairs: tuple[Pair, ...]
    _by_any_name: dict[str, Pair] = attrs.field(repr=False)
    _assets_by_any_name: dict[str, Asset] = attrs.field(repr=False)

    def pair(self, name: str) -> Pair:
        """The pair for a v2 symbol, REST name, altname or v1 wsname.

        Raises:
            UnknownSymbol: no pair has that name.
        """
        try:
            return self._by_any_name[name]
        except KeyError:
            raise UnknownSymbol(name) from None

    def find_pair(self, name: str) -> Pair | None:
        """Like :meth:`pair` but None when unknown."""
        return self._by_any_name.get(name)

    def asset(self, name: str) -> Asset | None:
        """The asset for a v2 name, REST name or altname, or None."""
        return self._assets_by_any_name.get(name)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(pair.symbol for pair in self.pairs)


def build_universe(*, extra_assets: int = 0, only: Iterable[str] | None = None) -> Universe:
    """Build the universe.

    Args:
        extra_assets: add this many synthetic long-tail assets (``SIM001``...), each over USD,
            EUR, USDT and BTC or over USD and EUR, to approach Kraken's ~1,000 pairs.
        only: keep only these v2 symbols (and the assets they use); for small test markets.

    Raises:
        UnknownSymbol: a name in ``only`` is not in the full universe.
    """
    assets = _parse_assets() + _synthetic_assets(extra_assets)
    by_name = {asset.name: asset for asset in assets}
    pairs: list[Pair] = []
    seen: set[str] = set()

    def add(base: Asset, quote: Asset) -> None:
        symbol = f"{base.name}/{quote.name}"
        if symbol in seen or base.name == quote.name:
            return
        pair = _make_pair(base, quote, _NON_ONLINE.get(symbol, "online"))
        if pair is not None:
            seen.add(symbol)
            pairs.append(pair)

    for base_name, quote_name in _STABLE_PAIRS:
        add(by_name[base_name], by_name[quote_name])
    for asset in assets:
        if asset.kind is AssetKind.CRYPTO:
            for quote_name in _QUOTES_BY_TIER[asset.tier]:
                add(asset, by_name[quote_name])
    if only is not None:
        wanted = list(only)
        keep = {pair.symbol: pair for pair in pairs}
        missing = [name for name in wanted if name not in keep]
        if missing:
            raise UnknownSymbol(missing[0])
        pairs = [keep[name] for name in wanted]
        used = {pair.base.name for pair in pairs} | {pair.quote.name for pair in pairs}
        assets = [asset for asset in assets if asset.name in used or asset.name == "USD"]
    return _index(assets, pairs)


def _index(assets: Sequence[Asset], pairs: Sequence[Pair]) -> Universe:
    by_any: dict[str, Pair] = {}
    for pair in pairs:
        for name in (pair.symbol, pair.rest_name, pair.altname, pair.wsname):
            by_any.setdefault(name, pair)
    assets_by_any: dict[str, Asset] = {}
    for asset in assets:
        for name in (asset.name, asset.rest_name, asset.altname):
            assets_by_any.setdefault(name, asset)
    return Universe(tuple(assets), tuple(pairs), by_any, assets_by_any)
