"""`python -m llm.model_server`: load the model, start the engine, serve HTTP until stopped."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

DEFAULT_BACKGROUND_MAX_TOKENS = 160
MAX_SLOTS = 64  # llama.cpp's limit on sequences in one context


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m llm.model_server", description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the GGUF file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--alias", default="smollm2", help="the model name /v1/models reports")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slots", type=int, default=8, help="replies decoded at once")
    parser.add_argument("--context-window", type=int, default=2048, help="tokens per slot")
    parser.add_argument("--batch-size", type=int, default=512, help="tokens per decode step")
    parser.add_argument("--weights", choices=("q8_0", "as-shipped"), default="as-shipped",
                        help="read the model as shipped, or re-encoded as Q8_0 (faster on CPUs; made once into --weights-dir)")
    parser.add_argument("--weights-dir", type=Path, help="where re-encoded weights are kept (default: beside the model)")
    parser.add_argument("--background-max-tokens", type=int, default=DEFAULT_BACKGROUND_MAX_TOKENS)
    parser.add_argument("--verbose", action="store_true", help="keep llama.cpp's own log, and log each request's slot and timing")
    return parser.parse_args(argv)


def model_file(args: argparse.Namespace) -> Path:
    """The file to load: the model re-encoded as --weights asks, or the shipped file itself when it
    cannot be made (a folder that cannot be written, a full disk): slower, but the game talks."""
    from llm.model_server.model import ModelError, weights_in

    try:
        return weights_in(args.model, args.weights, args.weights_dir or args.model.parent)
    except (ModelError, OSError) as error:
        logging.getLogger(__name__).warning("The model is read as shipped: %s could not be made (%s).", args.weights, error)
        return args.model


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    from llm.model_server.api import build_app
    from llm.model_server.engine import Engine
    from llm.model_server.model import LoadedModel, ModelError, quiet_llama_log

    if not args.verbose:
        quiet_llama_log()
    engine = Engine(lambda: LoadedModel(model_file(args), slots=max(1, min(MAX_SLOTS, args.slots)),
                                        context_window=args.context_window, threads=args.threads, batch_size=args.batch_size))
    try:
        engine.start()  # the model is made and loaded on the engine's thread: every llama.cpp computation on one thread
    except ModelError as error:
        print(f"model server: {error}", file=sys.stderr)
        return 2
    app = build_app(engine, alias=args.alias, background_max_tokens=args.background_max_tokens)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
