from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import health


class HealthView(APIView):
    """Liveness and dependencies. 503 only when the database, the one thing we cannot serve without, is down."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "cache": serializers.CharField(),
                "broker": serializers.CharField(),
                "outbox": serializers.DictField(child=serializers.IntegerField(), required=False),
            },
        )
    )
    def get(self, request):
        body = {
            "status": "ok",
            "database": health.database_status(),
            "cache": health.cache_status(),
            "broker": health.broker_status(),
        }
        if body["database"] == "ok" and (outbox := health.outbox_status()) is not None:
            body["outbox"] = outbox  # rows waiting for a task: see docs/operations.md
        if body["database"] != "ok":
            body["status"] = "down"
            return Response(body, status=503)
        return Response(body)
