"""`!statistik [Jahr]`: which municipalities take part, for coordinators, privately: a table, a bar
chart and a CSV file, per municipality and region, naming no person."""

from __future__ import annotations

import asyncio

from bot.context import Context
from rules.i18n import Message
from rules.participation import Participation, filename, participation_csv
from rules.rendering.bar_chart import Group, bar_chart
from services.statistics import bad_year, year_figures


def table(ctx: Context, figures: Participation) -> Message:
    """Per region its total, each municipality that took part, and those that took part in none."""
    lines = [ctx.t("statistics.head", year=figures.year, sessions=figures.sessions), ctx.t("statistics.legend")]
    for region in figures.regions():
        members = figures.region_lines(region)
        total = figures.total(region)
        absent = figures.absent(region)
        lines.append(
            ctx.t(
                "statistics.region",
                region=region,
                registrations=total.registrations,
                sessions=total.sessions,
                taking_part=len(members) - len(absent),
                members=len(members),
            )
        )
        for line in members:
            if line.counts.registrations:
                lines.append(
                    ctx.t(
                        "statistics.line",
                        name=line.name,
                        registrations=line.counts.registrations,
                        sessions=line.counts.sessions,
                    )
                )
        if absent:
            lines.append(ctx.t("statistics.absent", count=len(absent), names=", ".join(absent)))
    for key, counts in (("unlisted", figures.unlisted), ("unknown", figures.unknown)):
        if counts.registrations:
            lines.append(ctx.t(f"statistics.{key}", registrations=counts.registrations, sessions=counts.sessions))
    lines.append(ctx.t("statistics.files"))
    return Message.join(lines)


def chart_groups(ctx: Context, figures: Participation) -> list[Group]:
    groups = [
        Group(
            ctx.t("statistics.chart_region", region=region).plain,
            [(line.name, line.counts.registrations) for line in figures.region_lines(region)],
        )
        for region in figures.regions()
    ]
    others = [
        (ctx.t(f"statistics.{key}_label").plain, counts.registrations)
        for key, counts in (("unlisted", figures.unlisted), ("unknown", figures.unknown))
        if counts.registrations
    ]
    return [*groups, Group(ctx.t("statistics.chart_others").plain, others)] if others else groups


async def statistics(ctx: Context, typed: str) -> None:
    """The year's figures (the current year so far without a year), sent to the coordinator only."""
    if typed and not (typed.isascii() and typed.isdigit()):
        raise bad_year(ctx)
    async with ctx.join_batch() as s:
        figures = await year_figures(ctx, s, int(typed) if typed else None)
    ctx.tell(ctx.sender, table(ctx, figures))
    title = ctx.t("statistics.chart_title", year=figures.year).plain
    chart = await asyncio.to_thread(bar_chart, title, chart_groups(ctx, figures))  # the loop goes on meanwhile
    ctx.send_image(
        chart.png, filename(figures.year, "png"), "image/png", (chart.width, chart.height), to_user=ctx.sender
    )
    headers = [ctx.t(f"statistics.csv_{column}").plain for column in ("region", "name", "registrations", "sessions")]
    unlisted, unknown = ctx.t("statistics.unlisted_label").plain, ctx.t("statistics.unknown_label").plain
    csv = participation_csv(figures, headers, unlisted, unknown)
    ctx.send_file(csv, filename(figures.year, "csv"), "text/csv", to_user=ctx.sender)
