from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.pagination import OpenFirstCursorPagination
from apps.common.permissions import IsModerator

from . import selectors, services
from .models import Report
from .serializers import ReportCreateSerializer, ReportQueueQuerySerializer, ReportResolveSerializer, ReportSerializer


class ReportCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReportCreateSerializer, responses={201: ReportSerializer, 200: ReportSerializer})
    def post(self, request):
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report, created = services.report_create(reporter=request.user, **serializer.validated_data)
        return Response(
            ReportSerializer(report).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class ModerationReportListView(ListAPIView):
    permission_classes = [IsAuthenticated, IsModerator]
    serializer_class = ReportSerializer
    pagination_class = OpenFirstCursorPagination

    @extend_schema(parameters=[OpenApiParameter("status", enum=["open", "resolved", "all"], required=False)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = ReportQueueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.report_queue(status=query.validated_data["status"])


class ModerationReportResolveView(APIView):
    permission_classes = [IsAuthenticated, IsModerator]

    @extend_schema(request=ReportResolveSerializer, responses=ReportSerializer)
    def post(self, request, report_id: int):
        report = get_object_or_404(Report, pk=report_id)
        serializer = ReportResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.report_resolve(report=report, moderator=request.user, **serializer.validated_data)
        return Response(ReportSerializer(report).data)
