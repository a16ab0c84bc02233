"""The ``tvmip`` command.

Exit codes: 0 success / VALID; 1 INVALID certificate or failed regression;
2 bad input or usage; 3 a resource limit ended the run (the result is a certified
lower bound); 4 internal error; 130 interrupted (the result is a certified lower
bound).  Diagnostics go to stderr as one line; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .checker.floats import FORMATS
from .errors import InputError, TvmipError
from .files import atomic_write_text, check_writable

EXIT_LIMIT, EXIT_INTERRUPTED = 3, 130
_DEBUG = False


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn tvmip errors into one line and an exit code; tracebacks only with --debug."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TvmipError as exc:
            if _DEBUG:
                raise
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected failure is a bug: say so in one line
            if _DEBUG:
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)", 4)

    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


class _OneLineErrors(click.Group):
    """A click group whose usage errors, like every other error, are one line."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            return super().main(args, prog_name or "tvmip", complete_var, standalone_mode=False,
                                **extra)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


@click.group(cls=_OneLineErrors, invoke_without_command=True)
@click.version_option(__version__, prog_name="tvmip")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Exact, certified region counts of small piecewise-linear networks.

    With no command, runs the demo: counts the bundled network, writes its
    certificate and re-verifies it with the independent checker.
    """
    global _DEBUG
    _DEBUG = debug
    if ctx.invoked_subcommand is None:
        ctx.invoke(demo)


def _load(network: str | None):  # type: ignore[no-untyped-def]
    from .model.network import default_network_path, load_network

    path = Path(network) if network else default_network_path()
    return path, load_network(path)


def _domain_json(box: Any) -> Any:
    return None if box is None else box.to_json()


def _where(net: Any, box_text: str | None, data: str | None, slice_text: str | None,
           line_text: str | None) -> tuple[Any, Any, Any, list[Any] | None]:
    """The counted network and domain from the domain options: ``(network, box,
    subspace, data points)``; with ``--slice``/``--line`` the network restricted to
    that plane or line, and the box in its coordinates."""
    from .model.data import data_box, read_points
    from .model.network import parse_box
    from .model.subspace import parse_subspace

    if slice_text and line_text:
        raise InputError("give --slice or --line, not both")
    subspace = parse_subspace(slice_text, net.input_dim, 2, "--slice") if slice_text else \
        parse_subspace(line_text, net.input_dim, 1, "--line") if line_text else None
    if subspace is not None:
        if data:
            raise InputError("--data sets a box in the input space; with --slice or --line "
                             "give --box in the subspace's coordinates")
        net = subspace.restrict(net)
    if box_text and data:
        raise InputError("give --box or --data, not both")
    points = read_points(data, net.input_dim) if data else None
    box = parse_box(box_text, net.input_dim) if box_text else \
        data_box(points) if points else None
    return net, box, subspace, points


def _domain_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--box", "box_text", metavar="LO,HI", help="The open box LO < x < HI (a "
                     "cube), or all corners LO1,..,LOn,HI1,..,HIn."),
        click.option("--data", type=click.Path(dir_okay=False), help="A CSV or NPZ file of "
                     "input points: the box around them, widened by a tenth of their spread."),
        click.option("--slice", "slice_text", metavar="POINT;DIR1;DIR2", help="Only the plane "
                     "POINT + s DIR1 + t DIR2 (the network restricted to it; --box in (s, t))."),
        click.option("--line", "line_text", metavar="POINT;DIR",
                     help="Only the line POINT + s DIR (the network restricted to it)."),
    ]):
        function = option(function)
    return function


def _exit_for(stop_reason: str | None) -> None:
    """Exit 130 after an interrupt, 3 after a limit (the result is a lower bound)."""
    if stop_reason is None:
        return
    sys.exit(EXIT_INTERRUPTED if stop_reason.startswith("interrupted") else EXIT_LIMIT)


@main.command()
@click.argument("network", required=False)
@_domain_options
@click.option("--certificate", "-c", type=click.Path(dir_okay=False),
              help="Write a certificate here (gzip when the name ends in .gz).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.option("--linear", is_flag=True, help="Also count linear regions and distinct affine "
              "maps (always on for one-input networks).")
@click.option("--engine", "engine_name",
              type=click.Choice(["auto", "tree", "breakpoints", "milp"]),
              default="auto", show_default=True,
              help="tree: LP-guided search; breakpoints: exact 1-D propagation (n0 = 1); "
              "auto: breakpoints when n0 = 1; milp: the MILP counting baseline (no "
              "certificate; complete only per the float solver).")
@click.option("--max-regions", type=click.IntRange(min=1), help="Stop after K regions (lower bound).")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Stop after S seconds (lower "
              "bound; the gluing of --linear included).")
@click.option("--max-memory", type=click.FloatRange(min=1), metavar="MB",
              help="Stop when a process's peak memory passes MB (lower bound).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Explore subtrees in N local processes (same certificate as one).")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Send subtrees to a dask.distributed scheduler; 'local' starts a local "
              "cluster of --workers processes.")
@click.option("--resume", is_flag=True, help="Continue the interrupted (lower-bound) "
              "certificate at --certificate: its complete subtrees are reused.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@_guarded
def count(network: str | None, box_text: str | None, data: str | None, slice_text: str | None,
          line_text: str | None, certificate: str | None, as_json: bool, linear: bool,
          engine_name: str, max_regions: int | None, time_limit: float | None,
          max_memory: float | None, workers: int, dask_address: str | None, resume: bool,
          quiet: bool) -> None:
    """Count the activation regions of NETWORK (default: the bundled demo network)."""
    from .engine import counting as engine

    if network is not None and network.lower().endswith(".onnx"):
        raise InputError(f"{network} is an ONNX model: convert it first with "
                         f"'tvmip import {network} -o net.json'")
    path, net = _load(network)
    net, box, subspace, _ = _where(net, box_text, data, slice_text, line_text)
    if certificate is not None:
        check_writable(Path(certificate))
    result = engine.count(net, box, certificate=certificate, engine=engine_name, linear=linear,
                          limits=engine.Limits(max_regions, time_limit, max_memory),
                          progress=not quiet,
                          workers=workers, dask=dask_address, resume=resume)
    if as_json:
        payload = {
            "activation_regions": result.activation_regions,
            "claim": result.claim,
            "seconds": round(result.seconds, 6),
            "domain": _domain_json(box),
            "subspace": None if subspace is None else str(subspace),
            "network": {"path": str(path), "sha256": result.network_sha256},
            "linear_regions": result.linear_regions,
            "distinct_maps": result.distinct_maps,
            "output_values": result.output_values,
            "certificate": certificate,
            "stop_reason": result.stop_reason,
            "stats": result.stats,
        }
        click.echo(json.dumps(payload, indent=1))
    else:
        at_least = "" if result.exact else "at least "
        domain = f"R^{net.input_dim}" if box is None else f"box {_box_text(box)}"
        click.echo(f"{path}: {at_least}{result.activation_regions} activation regions over {domain}"
                   f" ({result.claim}, {result.seconds:.3f} s)")
        if subspace is not None:
            click.echo(f"on the {'plane' if subspace.dim == 2 else 'line'} {subspace} (the "
                       "counts and the certificate are those of the network restricted to it)")
        if result.linear_regions is not None:
            click.echo(f"linear regions: {result.linear_regions}; distinct affine maps: "
                       f"{result.distinct_maps}")
            if result.output_values is not None:
                click.echo(f"f is piecewise constant: {result.output_values} output "
                           f"value{'s' * (result.output_values != 1)}")
        elif linear:
            why = "the activation count is only a lower bound" if not result.exact else \
                result.stop_reason
            click.echo(f"linear regions: not counted ({why})", err=True)
        if certificate:
            click.echo(f"certificate: {certificate}")
        if engine_name == "milp":
            complete = "complete" if result.stats.get("milp_complete") else "incomplete"
            click.echo(f"MILP baseline: every region verified exactly; the enumeration is "
                       f"{complete} according to the float MILP solver (not a proof)", err=True)
        elif not result.exact:
            click.echo(f"stopped early ({result.stop_reason}): {result.open_subtrees} subtrees "
                       "left unexplored", err=True)
    _exit_for(result.stop_reason)


def _box_text(box: Any) -> str:
    return " x ".join(f"({lo}, {hi})" for lo, hi in zip(box.lo, box.hi))


@main.command()
@click.argument("network", required=False)
@_domain_options
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="One JSON object per line, or CSV with a header.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@click.option("--floats", is_flag=True, help="Add float columns beside the exact ones (for pandas).")
@click.option("--polygons", is_flag=True, help="Two inputs and a box: add each region's exact "
              "polygon in the box and its area.")
@click.option("--graph", type=click.Path(dir_okay=False), help="Also write the region adjacency "
              "graph: GraphML for .graphml, networkx node-link JSON otherwise.")
@click.option("--certificate", "-c", type=click.Path(dir_okay=False),
              help="Write the search's certificate here (a lower bound if stopped).")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Stop after S seconds.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@_guarded
def regions(network: str | None, box_text: str | None, data: str | None,
            slice_text: str | None, line_text: str | None, fmt: str, output: str | None,
            floats: bool, polygons: bool, graph: str | None, certificate: str | None,
            time_limit: float | None, quiet: bool) -> None:
    """List every activation region of NETWORK: pattern, witness point, affine map
    and linear-region id, all exact.  Stopped early, the list ends with a line
    saying it is incomplete and the exit code is 130 (interrupt) or 3 (limit)."""
    from .engine.listing import region_graph, to_csv, to_jsonl, write_graph
    from .engine.listing import regions as listing
    from .engine.run import Limits

    _, net = _load(network)
    net, box, _, _ = _where(net, box_text, data, slice_text, line_text)
    if polygons and (net.input_dim != 2 or box is None):
        raise InputError("--polygons needs a network with two inputs (or --slice) and a box")
    for target in (output, graph, certificate):
        if target is not None:
            check_writable(Path(target))
    found = listing(net, box, polygons=polygons, limits=Limits(time_limit=time_limit),
                    progress=not quiet, certificate=certificate)
    lines = list(to_jsonl(found, floats) if fmt == "jsonl" else
                 to_csv(found, net.input_dim, len(net.output.biases), floats))
    if not found.complete:
        exact = found.result is not None and found.result.exact
        counted = f"{'' if exact else 'at least '}{len(found)} activation regions"
        summary = {"complete": False, "activation_regions":
                   len(found) if exact else {"at_least": len(found)},
                   "linear_regions": None, "stop_reason": found.stop_reason,
                   "certificate": certificate}
        lines.append(json.dumps(summary) + "\n" if fmt == "jsonl" else
                     f"# incomplete ({found.stop_reason}): {counted}; the rows above are "
                     "verified regions, without linear-region ids\n")
    if output is None:
        for line in lines:
            click.echo(line, nl=False)
    else:
        atomic_write_text(Path(output), "".join(lines))
    if not found.complete:
        click.echo(f"stopped early ({found.stop_reason}): {counted}; the listing is incomplete"
                   + (f", see the certificate {certificate}" if certificate else ""), err=True)
        _exit_for(found.stop_reason)
    elif graph is not None:
        write_graph(region_graph(net, box, found), Path(graph))


@main.command()
@click.argument("network", required=False)
@click.option("--box", "box_text", metavar="LO,HI", help="Cross-check over this open box "
              "(default: all of R^n0, through a box that meets every region).")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Give the MILP S seconds.")
@_guarded
def crosscheck(network: str | None, box_text: str | None, time_limit: float | None) -> None:
    """Enumerate with the search tree, then ask a MILP for a region it missed."""
    from .engine import counting as engine
    from .model.network import parse_box
    from .model.scaled import scale_network
    from .search.mip import find_missing, milp_box
    from .search.tree import Region

    path, net = _load(network)
    box = parse_box(box_text, net.input_dim) if box_text else None
    scaled_net = scale_network(net)
    chosen = milp_box(scaled_net, box)  # fails fast when the MILP cannot work here
    patterns: set[str] = set()
    result = engine.count(scaled_net, box, engine="tree",
                          on_record=lambda r: patterns.add(r.pattern) if isinstance(r, Region) else None)
    domain = f"R^{net.input_dim}" if box is None else f"box {_box_text(box)}"
    click.echo(f"{path}: {result.activation_regions} activation regions over {domain} "
               f"({result.claim}, search tree; the certificate is the proof)")
    if box is None:
        click.echo(f"MILP over R^{net.input_dim} through the box {_box_text(chosen.box)}: "
                   f"{chosen.reason}")
    missing = find_missing(scaled_net, box, patterns, time_limit=time_limit)
    if missing is None:
        click.echo("MIP cross-check: no missing pattern (an independent floating-point check)")
        return
    pattern, point = missing
    click.echo(f"MIP cross-check: MISSING pattern {pattern} at x = ({', '.join(map(str, point))}) "
               "(verified exactly)")
    sys.exit(1)


@main.command()
@click.argument("certificate", type=click.Path(dir_okay=False))
@click.option("--network", type=click.Path(dir_okay=False),
              help="Also require the certificate to be about this network file.")
@click.option("--box", "box_text", metavar="LO,HI|none", help="Also require the certificate "
              "to be about this open box (same syntax as count --box), or with 'none' about "
              "all of R^n0.")
@_guarded
def check(certificate: str, network: str | None, box_text: str | None) -> None:
    """Re-verify CERTIFICATE with exact rationals (the independent checker)."""
    from .checker.verify import Unbound, check_file

    net = _load(network)[1] if network else None
    box: Any = Unbound.ANY
    if box_text is not None and box_text.strip().lower() == "none":
        box = None
    elif box_text is not None:
        from .certificate import read_header
        from .model.network import parse_box

        dim = net.input_dim if net else \
            read_header(Path(certificate))["network"].get("input_dim")
        if not isinstance(dim, int) or dim < 1:
            raise InputError(f"{certificate}: the header gives no input dimension for --box")
        box = parse_box(box_text, dim)
    verdict = check_file(certificate, net.sha256 if net else None, box)
    click.echo(verdict.line, err=verdict.exit_code == 2)
    sys.exit(verdict.exit_code)


def _architecture(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--n0", type=click.IntRange(min=1), required=True, help="Input dimension."),
        click.option("--width", type=click.IntRange(min=1), required=True, help="Hidden width n."),
        click.option("--depth", type=click.IntRange(min=1), required=True, help="Hidden layers L."),
    ]):
        function = option(function)
    return function


KIND = click.argument("kind", type=click.Choice(["general", "ternary-relu", "ternary-alternating",
                                                   "ternary-wide"]))


@main.command()
@_architecture
@_guarded
def bounds(n0: int, width: int, depth: int) -> None:
    """The linear-region bounds for n0 inputs and DEPTH layers of WIDTH, with what
    tvmip's ternary constructions certify against them."""
    from .theory import theorems

    widths = (width,) * depth
    general: list[tuple[str, Callable[..., Any]]] = [
        ("lower", theorems.montufar_lower_bound), ("lower", theorems.serra_lower_bound),
        ("upper", theorems.montufar_upper_bound), ("upper", theorems.serra_upper_bound)]
    if n0 == 1:
        general.insert(2, ("lower", theorems.one_dimensional_maximum))
    click.echo(f"general ReLU networks, n0 = {n0}, widths {list(widths)}:")
    for side, function in general:
        try:
            bound = function(n0, widths)
        except ValueError as exc:
            click.echo(f"  ({side}) not applicable: {exc}")
            continue
        click.echo(f"  ({side}) {bound.name}: {bound.value}\n      {bound.formula}\n"
                   f"      {bound.source}")
    reference = theorems.reference_bound(n0, width, depth) if width >= n0 else None
    click.echo("ternary constructions certified by tvmip (tvmip certify KIND ...):")
    for kind in theorems.KINDS:
        try:
            achieved = theorems.construction_bound(kind, n0, width, depth)
        except ValueError as exc:
            click.echo(f"  {kind}: not applicable: {exc}")
            continue
        versus = f" vs {reference.name} {reference.value}" if reference else ""
        click.echo(f"  {kind}: {achieved.value} linear regions{versus}\n      {achieved.formula}")


@main.command()
@KIND
@_architecture
@click.option("--output", "-o", type=click.Path(), required=True, help="Network file to write.")
@_guarded
def construct(kind: str, n0: int, width: int, depth: int, output: str) -> None:
    """Write the construction KIND emulating the general network (n0, width, depth)."""
    from .model.network import save_network
    from .theory.constructions import construct as build

    try:
        c = build(kind, n0, width, depth)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    check_writable(Path(output))
    save_network(c.network, output)
    click.echo(f"{output}: {kind}, hidden widths {list(c.network.widths)}, ternary: "
               f"{c.network.ternary}; meant to reach {c.achieved.value} linear regions vs "
               f"{c.bound.name} {c.bound.value}")


@main.command()
@KIND
@_architecture
@click.option("--output", "-o", type=click.Path(), required=True, help="Certificate to write.")
@click.option("--evidence", type=click.Choice(["exact", "witnesses"]), default="exact",
              show_default=True, help="Exact counts, or one witness per distinct affine map.")
@_guarded
def certify(kind: str, n0: int, width: int, depth: int, output: str, evidence: str) -> None:
    """Build, count and certify a construction against its theorem's bound."""
    from .theory.proofs import certify as run

    check_writable(Path(output))
    item = run(kind, n0, width, depth, output, evidence)
    bound = item.construction.bound
    at_least = "" if item.exact else "at least "
    click.echo(f"{output}: {at_least}{item.linear_regions} linear regions "
               f"({item.evidence} evidence, {item.seconds:.1f} s)")
    if item.meets_bound:
        click.echo(f"meets {bound.name} = {bound.value} for n0 = {n0}, width {width}, depth {depth}")
    else:
        click.echo(f"does NOT meet {bound.name} = {bound.value}: the certificate claims only "
                   "the counts", err=True)
        sys.exit(1)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False), default="proofs")
@_guarded
def prove(directory: str) -> None:
    """Regenerate the certified collection DIRECTORY/ from its manifest.toml."""
    from .theory.proofs import prove as run

    run(directory, progress=click.echo)
    click.echo(f"wrote {Path(directory) / 'README.md'}")


@main.command()
@click.argument("network", required=False)
@click.option("--output", "-o", type=click.Path(), required=True,
              help="Picture to write: .png, .svg or .pdf.")
@click.option("--box", "box_text", metavar="LO,HI", help="The drawn domain (in slice "
              "coordinates with --slice); default: the data's box, else a view of the central "
              "vertices (see the README).")
@click.option("--data", type=click.Path(dir_okay=False), help="A CSV or NPZ file of input "
              "points: drawn on the picture, and their box is the domain.")
@click.option("--slice", "plane_text", metavar="POINT;DIR1;DIR2",
              help="For n0 >= 2: the plane point + s DIR1 + t DIR2, e.g. '0,0,0;1,0,0;0,1,0' "
              "(the default for n0 >= 3 is the plane of x1 and x2).")
@click.option("--colour", "--color", "colour", type=click.Choice(["linear", "f", "grad"]),
              default="linear", show_default=True, help="Fill: a colour family per linear "
              "region, or a scale of f (at each region's centroid) or of |grad f|.")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Give up after S seconds of "
              "counting (no picture).")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@_guarded
def plot(network: str | None, output: str, box_text: str | None, data: str | None,
         plane_text: str | None, colour: str, time_limit: float | None, quiet: bool) -> None:
    """Draw the exact region map (n0 = 2, or a 2-D slice) or the graph of f (n0 = 1)."""
    from .engine.run import Limits
    from .model.data import read_points
    from .model.network import parse_box
    from .model.subspace import parse_subspace
    from .plot import plot as draw

    path, net = _load(network)
    plane = parse_subspace(plane_text, net.input_dim, 2, "--slice") if plane_text else None
    drawn = 2 if plane is not None or net.input_dim >= 2 else 1
    box = parse_box(box_text, drawn) if box_text else None
    points = None
    if data is not None:
        dim = net.input_dim
        points = read_points(data, dim)
        if dim == 1:  # a second column, when there is one, is drawn as the target
            try:
                points = read_points(data, 2)
            except InputError:
                pass
    check_writable(Path(output))
    summary = draw(net, output, box=box, plane=plane, data=points, colour=colour,
                   name=path.stem, limits=Limits(time_limit=time_limit), progress=not quiet)
    view = summary.view
    outside = f"; {view.outside} of the {view.total} regions lie outside the default view" \
        if view.how == "default" else ""
    linear = "linear regions not certified" if summary.linear_regions is None \
        else f"{summary.linear_regions} linear regions"
    click.echo(f"{output}: {summary.activation_regions} activation regions, "
               f"{linear}, {summary.distinct_maps} distinct maps "
               f"over {_box_text(view.box)}{outside}")


@main.command("import")
@click.argument("model", type=click.Path())
@click.option("--output", "-o", type=click.Path(), required=True, help="Network file to write.")
@click.option("--ternarize", is_flag=True, help="Ternarize the weights (threshold 0.7 mean|w| "
              "per layer, scales pushed into the biases; see the report).")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@_guarded
def import_model(model: str, output: str, ternarize: bool, as_json: bool) -> None:
    """Convert a feed-forward piecewise-linear ONNX MODEL exactly: Gemm/MatMul (+ Add),
    Relu, LeakyRelu, Clip, HardSigmoid, Sign, QuantizeLinear/DequantizeLinear, ...
    (skl2onnx and torch.onnx exports); a classifier gives its logit network."""
    from .io.onnx_import import import_onnx
    from .model.network import save_network

    check_writable(Path(output))
    result = import_onnx(model, ternarize=ternarize)
    save_network(result.network, output)
    if as_json:
        click.echo(json.dumps({**result.to_json(), "output": output}, indent=1))
        return
    click.echo(result.report)
    click.echo(f"wrote {output}")


@main.command("export")
@click.argument("network")
@click.option("--output", "-o", type=click.Path(), required=True, help="ONNX file to write.")
@click.option("--approximate", is_flag=True, help="Round values that are not numbers of the "
              "format (e.g. 1/3) to the nearest, and report the largest error.")
@click.option("--dtype", type=click.Choice(list(FORMATS)), default="float64", show_default=True,
              help="The float format of the model's tensors.")
@_guarded
def export_model(network: str, output: str, approximate: bool, dtype: str) -> None:
    """Write NETWORK as an ONNX model (Gemm, and each activation as exact ONNX
    operators: Relu, Identity, LeakyRelu, Clip, Round, Where...)."""
    from .io.onnx_export import export_onnx

    _, net = _load(network)
    check_writable(Path(output))
    click.echo(export_onnx(net, output, approximate=approximate, dtype=dtype).report)


@main.command()
@click.argument("path")
@_guarded
def show(path: str) -> None:
    """Print a network file as tvmip reads it (canonical, exact), or a certificate's
    header and claims, for auditing."""
    import gzip
    import zlib

    from .files import read_input_file
    from .model.network import load_network

    data = read_input_file(Path(path))
    if data[:2] == b"\x1f\x8b" or b'"tvmip-certificate/' in data[:4096]:
        try:
            lines = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).splitlines()
            header = json.loads(lines[0])
            end = json.loads(lines[-1]).get("end", {}) if len(lines) > 1 else {}
            network = header.get("network", {})
        except (OSError, EOFError, zlib.error, ValueError, AttributeError, IndexError) as exc:
            raise InputError(f"{path}: not a readable certificate ({exc})") from None
        click.echo(f"{path}: {header.get('format')} ({header.get('kind')}), written by "
                   f"{header.get('tool')}; {len(lines) - 2} records")
        click.echo(f"network sha256 {header.get('network_sha256')}, input dim "
                   f"{network.get('input_dim')}, domain {json.dumps(header.get('domain'))}")
        click.echo(f"claims: {json.dumps(end.get('claims'))}")
        click.echo(f"metadata: {json.dumps(end.get('metadata'))}")
        click.echo(f"(run `tvmip check {path}` to verify them)")
        return
    network = load_network(path)
    click.echo(f"{path}: input dim {network.input_dim}, hidden widths {list(network.widths)} "
               f"({', '.join(str(layer.activation.spec) for layer in network.layers)}), ternary: "
               f"{network.ternary}, sha256 {network.sha256}")
    click.echo(json.dumps(network.to_json(), indent=1))


@main.command()
@click.argument("network", required=False)
@click.option("--dtype", type=click.Choice(list(FORMATS)), default="float32", show_default=True,
              help="The float format the weights and biases are stored in.")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="The audit file (default NETWORK.DTYPE.audit.json); its two certificates "
              "are written beside it.")
@click.option("--box", "box_text", metavar="LO,HI", help="Audit over this open box (default "
              "R^n0).")
@click.option("--no-onnxruntime", is_flag=True, help="Evaluate with numpy only.")
@click.option("--time-limit", type=click.FloatRange(min=0), help="Give each exact count S "
              "seconds (an audit needs both counts complete).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable result.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@_guarded
def audit(network: str | None, dtype: str, output: str | None, box_text: str | None,
          no_onnxruntime: bool, time_limit: float | None, as_json: bool, quiet: bool) -> None:
    """What storing NETWORK's weights and biases in a float format does to its regions:
    exact counts before and after rounding, regions created and destroyed with their
    sizes, regions proved thinner than the format's resolution (all certified in
    the audit file: tvmip check AUDIT), and float evaluations with numpy and
    onnxruntime at every region's rounded witness (observed)."""
    from .engine.run import Limits
    from .float_audit import audit as run_audit
    from .model.network import parse_box

    path, net = _load(network)
    box = parse_box(box_text, net.input_dim) if box_text else None
    target = Path(output) if output else path.with_name(f"{path.stem}.{dtype}.audit.json")
    result = run_audit(net, dtype, target, box, limits=Limits(time_limit=time_limit),
                       progress=not quiet, onnxruntime=not no_onnxruntime)
    click.echo(json.dumps(result.to_json(), indent=1) if as_json else result.report)


@main.command()
@_guarded
def demo() -> None:
    """Count the bundled ternary network, certify it, and re-check the certificate."""
    from .checker.verify import check_file
    from .engine import counting as engine

    path, net = _load(None)
    with tempfile.TemporaryDirectory() as tmp:
        cert = Path(tmp) / "demo.cert.json.gz"
        result = engine.count(net, certificate=cert)
        click.echo(f"network: {path} (input dim {net.input_dim}, widths {list(net.widths)}, "
                   f"ternary: {net.ternary})")
        click.echo(f"count:   {result.activation_regions} activation regions over "
                   f"R^{net.input_dim} ({result.claim}, {result.seconds:.3f} s)")
        click.echo(f"check:   {check_file(cert).line}")
    click.echo("next:    tvmip count NETWORK.json --certificate out.cert.json.gz; "
               "tvmip check out.cert.json.gz")


def _numbers(text: str, name: str, kind: type, positive: bool = False) -> list[Any]:
    """A comma-separated option: ``--widths 8,8``, ``--alphas 0.2,0.5``, ``--seeds 0,1``."""
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{name}: expected comma-separated numbers, got {text!r}") from None
    if not values or (positive and min(values) <= 0):
        raise InputError(f"{name}: expected {'positive ' if positive else ''}numbers, "
                         f"got {text!r}")
    return values


def _training_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--widths", default="8,8", show_default=True,
                     help="Hidden widths, comma-separated."),
        click.option("--dim", type=click.IntRange(min=1), default=2, show_default=True,
                     help="Input dimension of a synthetic task."),
        click.option("--samples", type=click.IntRange(min=1), default=256,
                     show_default=True, help="Points of a synthetic task."),
        click.option("--epochs", type=click.IntRange(min=0), default=1500,
                     show_default=True, help="Adam steps (full batch)."),
        click.option("--calibrate", type=click.IntRange(min=0), default=300,
                     show_default=True, help="Steps refitting the scales and biases "
                     "with the ternary weights fixed."),
        click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.01,
                     show_default=True, help="Adam step size."),
        click.option("--lam", type=click.FloatRange(min=0), help="Penalty weight lambda "
                     "(default: 10 for wdr, 0.002 for rvscgd)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress display."),
    ]):
        function = option(function)
    return function


@main.command()
@click.argument("data")
@_training_options
@click.option("--method", type=click.Choice(["wdr", "rvscgd"]), default="wdr",
              show_default=True, help="wdr: sparsity-control ternary training (Deng & "
              "Zhang); rvscgd: relaxed variable splitting with coarse gradients (Dinh & "
              "Xin).")
@click.option("--alpha", type=float, default=0.5, show_default=True,
              help="WDR's sparsity controller (0 < alpha < 2; more zeros as it grows).")
@click.option("--penalty", type=click.Choice(["l1", "l0", "tl1"]), default="l1",
              show_default=True, help="RVSCGD's sparsifying penalty.")
@click.option("--beta", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="RVSCGD's splitting weight beta.")
@click.option("--tl1-a", "tl1_a", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="The a of the transformed-l1 penalty.")
@click.option("--activation", type=click.Choice(["relu", "step", "sign"]),
              help="Hidden activation (default: relu for wdr, step for rvscgd).")
@click.option("--surrogate", type=click.Choice(["hardtanh", "relu", "clipped"]),
              default="hardtanh", show_default=True, help="Coarse derivative of step/sign.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the initial weights and a synthetic task's points.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True,
              help="The ternary network to write.")
@click.option("--certificate", "-c", type=click.Path(dir_okay=False),
              help="Write the certificate of the count over the data's box here.")
@click.option("--whole-space", type=click.FloatRange(min=0), default=10.0,
              show_default=True, help="Also count over all of R^n0, for at most S "
              "seconds (0: skip).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@_guarded
def train(data: str, widths: str, dim: int, samples: int, epochs: int, calibrate: int,
          lr: float, lam: float | None, quiet: bool, method: str, alpha: float,
          penalty: str, beta: float, tl1_a: float, activation: str | None, surrogate: str,
          seed: int, output: str, certificate: str | None, whole_space: float,
          as_json: bool) -> None:
    """Train a small regression MLP on DATA (a CSV/NPZ file of x..., y, or a task:
    sawtooth, abs-sum, peaks, checker) whose weights end exactly in {-1, 0, 1};
    write it, and count its regions exactly over the data's box (and R^n0)."""
    from .train.data import load_data
    from .train.methods import Rvscgd, Wdr
    from .train.regions import count_regions
    from .train.trainer import TrainConfig, summary, write_network
    from .train.trainer import train as run

    for target in (output, certificate):
        if target is not None:
            check_writable(Path(target))
    try:
        config = TrainConfig(tuple(_numbers(widths, "--widths", int, positive=True)),
                             activation or ("relu" if method == "wdr" else "step"),
                             surrogate, epochs, lr, calibrate, seed)
        weight = {} if lam is None else {"lam": lam}
        chosen = Wdr(alpha, **weight) if method == "wdr" else \
            Rvscgd(penalty, beta=beta, a=tl1_a, **weight)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    dataset = load_data(data, dim, samples, seed)
    result = run(dataset, chosen, config, progress=not quiet)
    write_network(result, output)
    box = count_regions(result.network, dataset.box, certificate, progress=not quiet)
    space = count_regions(result.network, None, time_limit=whole_space,
                          progress=not quiet) if whole_space > 0 else None
    if as_json:
        click.echo(json.dumps({**result.to_json(), "network": output,
                               "certificate": certificate, "box": box.to_json(),
                               "space": None if space is None else space.to_json()},
                              indent=1))
    else:
        for line in summary(result):
            click.echo(line)
        n0 = dataset.input_dim
        click.echo(f"regions over the data's box {box.line(n0)}")
        click.echo(f"regions over all of {space.line(n0)}" if space else
                   "regions over R^n0: not counted (--whole-space 0)")
        click.echo(f"wrote {output}" + (f"; certificate (the box): {certificate}"
                                        if certificate else ""))
    interrupted = space.stop_reason if space and space.stop_reason and \
        space.stop_reason.startswith("interrupted") else None
    _exit_for(box.stop_reason or interrupted)  # a --whole-space time limit is no failure


@main.command()
@click.argument("kind", type=click.Choice(["sparsity"]))
@click.option("--data", "data", default="peaks", show_default=True,
              help="A CSV/NPZ file of x..., y, or a synthetic task.")
@_training_options
@click.option("--alphas", default="0.1,0.3,0.5,0.7,0.9,1.1,1.3", show_default=True,
              help="WDR controllers, comma-separated.")
@click.option("--seeds", default="0", show_default=True, help="Seeds, comma-separated.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="sparsity.png",
              show_default=True, help="The picture (PNG); the CSV goes beside it.")
@click.option("--time-limit", type=click.FloatRange(min=0),
              help="Give each count at most S seconds (then a lower bound).")
@_guarded
def study(kind: str, data: str, widths: str, dim: int, samples: int, epochs: int,
          calibrate: int, lr: float, lam: float | None, quiet: bool, alphas: str,
          seeds: str, output: str, time_limit: float | None) -> None:
    """Train WDR networks at several alphas and seeds, count their regions exactly
    (certified and checked), and plot them against sparsity beside the bounds."""
    from .train.data import load_data
    from .train.methods import Wdr
    from .train.study import architecture_bounds, plot_study, sparsity_study, write_csv
    from .train.trainer import TrainConfig

    picture = Path(output)
    table = picture.with_suffix(".csv")
    for target in (picture, table):
        check_writable(target)
    try:
        config = TrainConfig(tuple(_numbers(widths, "--widths", int, positive=True)), epochs=epochs,
                             lr=lr, calibrate=calibrate)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    dataset = load_data(data, dim, samples, 0)
    bounds = architecture_bounds(dataset.input_dim, config.widths)
    rows = sparsity_study(dataset, _numbers(alphas, "--alphas", float),
                          _numbers(seeds, "--seeds", int), config,
                          Wdr() if lam is None else Wdr(lam=lam), time_limit, not quiet)
    about = (f"WDR-trained ternary ReLU networks, n0 = {dataset.input_dim}, widths "
             f"{list(config.widths)}\non {dataset.name}, {epochs} epochs")
    write_csv(rows, bounds, table, about)
    plot_study(rows, bounds, picture, about)
    click.echo(f"{'alpha':>6} {'seed':>4} {'sparsity':>8} {'mse':>9}  {'R^n0 act/lin':>13}  "
               f"{'box act/lin':>12}")
    for r in rows:
        click.echo(f"{r.alpha:>6g} {r.seed:>4} {r.sparsity:>8.3f} {r.mse_discrete:>9.4g}  "
                   f"{r.space.activation_regions:>6}/{r.space.linear_regions!s:<6}  "
                   f"{r.box.activation_regions:>5}/{r.box.linear_regions!s:<6}")
    for bound in bounds:
        click.echo(f"{bound.kind} bound: {bound.name} = {bound.value}")
    click.echo(f"every certificate checked VALID; wrote {picture} and {table}")


if __name__ == "__main__":
    main()
