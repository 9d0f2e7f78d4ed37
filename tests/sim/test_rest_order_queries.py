"""The simulator's ``OpenOrders`` and ``ClosedOrders``: Kraken's filters by ``cl_ord_id`` and
``userref``, read through our own REST client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from arbitrade.config import Secret
from arbitrade.kraken import InvalidArguments, KrakenRestClient
from arbitrade.sim import DEFAULT_API_KEY, DEFAULT_API_SECRET, RunningSimulator

RESTING = Decimal("30000.0")
"""A buy price far below the book: the order rests (GTC) or is cancelled at once (IOC)."""


@asynccontextmanager
async def client_of(running: RunningSimulator) -> AsyncIterator[KrakenRestClient]:
    async with KrakenRestClient(
        running.rest_url, api_key=Secret(DEFAULT_API_KEY), api_secret=Secret(DEFAULT_API_SECRET)
    ) as client:
        yield client


async def place(client: KrakenRestClient, cl_ord_id: str, *, tif: str = "gtc") -> str:
    """A resting (or, IOC, at once cancelled) buy; returns its Kraken id."""
    added = await client.add_order(
        pair="XBTUSD",
        side="buy",
        order_type="limit",
        volume=Decimal("0.01"),
        price=RESTING,
        cl_ord_id=cl_ord_id,
        time_in_force=tif,
    )
    return added.txids[0]


class TestOpenOrdersFilter:
    async def test_open_orders_when_cl_ord_id_given_lists_only_that_order(
        self, running: RunningSimulator
    ) -> None:
        """As Kraken: ``cl_ord_id`` restricts OpenOrders to the order carrying it."""
        async with client_of(running) as client:
            wanted = await place(client, "open-a")
            await place(client, "open-b")
            answer = await client.open_orders(cl_ord_id="open-a")
            everything = await client.open_orders()
        assert list(answer["open"]) == [wanted]
        assert len(everything["open"]) == 2

    async def test_open_orders_when_cl_ord_id_closed_lists_nothing(
        self, running: RunningSimulator
    ) -> None:
        """A closed order is not open, whatever its id."""
        async with client_of(running) as client:
            await place(client, "ioc-a", tif="ioc")
            answer = await client.open_orders(cl_ord_id="ioc-a")
        assert answer["open"] == {}


class TestClosedOrders:
    async def test_closed_orders_when_cl_ord_id_given_names_the_cancelled_order(
        self, running: RunningSimulator
    ) -> None:
        """An IOC order that closed unfilled is found by its ``cl_ord_id``, cancelled."""
        async with client_of(running) as client:
            txid = await place(client, "closed-a", tif="ioc")
            await place(client, "closed-b", tif="ioc")
            await place(client, "still-open")
            answer = await client.closed_orders(cl_ord_id="closed-a")
        assert (list(answer.orders), answer.count) == ([txid], 1)
        info = answer.orders[txid]
        assert (info["status"], info["cl_ord_id"], info["vol_exec"]) == (
            "canceled",
            "closed-a",
            "0.00000000",
        )

    async def test_closed_orders_when_no_filter_lists_closed_orders_newest_first(
        self, running: RunningSimulator
    ) -> None:
        """Without a filter every closed order of the key is listed, newest first; open ones
        never."""
        async with client_of(running) as client:
            first = await place(client, "c-1", tif="ioc")
            second = await place(client, "c-2", tif="ioc")
            await place(client, "open-1")
            answer = await client.closed_orders()
            page_two = await client.closed_orders(offset=1)
        assert (list(answer.orders), answer.count) == ([second, first], 2)
        assert (list(page_two.orders), page_two.count) == ([first], 2)

    async def test_closed_orders_when_userref_given_lists_only_orders_carrying_it(
        self, running: RunningSimulator
    ) -> None:
        """``userref`` filters as ``cl_ord_id`` does; an unknown one finds nothing."""
        async with client_of(running) as client:
            await place(client, "u-0", tif="ioc")
            tagged = await client._private(
                "AddOrder",
                {
                    "pair": "XBTUSD",
                    "type": "buy",
                    "ordertype": "limit",
                    "volume": "0.01",
                    "price": str(RESTING),
                    "timeinforce": "IOC",
                    "userref": "42",
                },
            )
            found = await client.closed_orders(userref=42)
            none = await client.closed_orders(userref=43)
        assert list(found.orders) == tagged["txid"]
        assert (dict(none.orders), none.count) == ({}, 0)

    async def test_closed_orders_when_userref_not_a_number_refuses_invalid_arguments(
        self, running: RunningSimulator
    ) -> None:
        """A userref that is not an integer is Kraken's ``EGeneral:Invalid arguments``."""
        async with client_of(running) as client:
            with pytest.raises(InvalidArguments):
                await client._private("ClosedOrders", {"userref": "abc"})
