"""Decodes an OTLP ExportTraceServiceRequest (file in argv[1]) with the OpenTelemetry protobuf
classes and prints it as JSON, for test/observability/otlp-python.test.ts."""
import json
import sys

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

with open(sys.argv[1], "rb") as f:
    req = ExportTraceServiceRequest.FromString(f.read())
print(json.dumps(MessageToDict(req, preserving_proto_field_name=True)))
