"""The embedded local model server: one GGUF model, several replies at once.

Run as `python -m llm.model_server --model FILE --port N --slots S ...` (the supervisor in
`llm.local_server` does). It serves the OpenAI-compatible API the game uses over one model and one
llama.cpp context with a sequence per slot, decoding every slot's next token in one batch
(llama.cpp's continuous batching), so several players' replies stream at once.

    model.py    the C objects: model, context, batch, tokenizer, chat template, sampler chains
    text.py     a reply's text: UTF-8 pieces and stop strings
    engine.py   the decode loop and the slots: admission, fairness, prefix reuse
    api.py      the HTTP routes (starlette), request validation, server-sent events
    __main__.py the command line
"""
