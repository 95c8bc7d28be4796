"""A Python client of Switchyard's gRPC API, used by test/grpc/python.test.ts.

Usage: python3 client.py GENERATED_DIR HOST:PORT MODEL

GENERATED_DIR holds the modules `python3 -m grpc_tools.protoc` wrote for switchyard/v1/*.proto.
Prints one JSON object: the Chat answer, the streamed text and usage, and the status of a call to
an unknown model.
"""

import json
import sys


def main() -> int:
    gen_dir, target, model = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, gen_dir)

    import grpc
    from switchyard.v1 import inference_pb2, inference_pb2_grpc

    out = {}
    with grpc.insecure_channel(target) as channel:
        stub = inference_pb2_grpc.InferenceStub(channel)
        request = inference_pb2.ChatRequest(
            model=model,
            messages=[inference_pb2.ChatMessage(role="user", content="Hello from Python")],
            max_tokens=5,
        )
        request.extra.update({"top_k": 20})
        reply, call = stub.Chat.with_call(request, metadata=[("x-request-id", "python-chat-1")], timeout=10)
        out["chat"] = {
            "object": reply.object,
            "model": reply.model,
            "role": reply.choices[0].message.role,
            "content": reply.choices[0].message.content,
            "finish_reason": reply.choices[0].finish_reason,
            "usage": {
                "prompt_tokens": reply.usage.prompt_tokens,
                "completion_tokens": reply.usage.completion_tokens,
                "total_tokens": reply.usage.total_tokens,
            },
            "request_id": dict(call.initial_metadata()).get("x-request-id"),
        }

        pieces = []
        usage = None
        for chunk in stub.ChatStream(request, timeout=10):
            for choice in chunk.choices:
                pieces.append(choice.delta.content)
            if chunk.HasField("usage"):
                usage = chunk.usage.completion_tokens
        out["stream"] = {"text": "".join(pieces), "completion_tokens": usage}

        try:
            stub.Chat(inference_pb2.ChatRequest(model="no-such-model", messages=request.messages), timeout=10)
            out["unknown"] = {"code": "OK"}
        except grpc.RpcError as err:
            trailers = dict(err.trailing_metadata() or ())
            out["unknown"] = {
                "code": err.code().name,
                "error_code": trailers.get("x-switchyard-error-code"),
            }

    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
