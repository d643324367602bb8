from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .serializers import DataExportSerializer


class DataExportView(APIView):
    permission_classes = [IsAuthenticated]

    def _data(self, export) -> dict:
        context = {"request": self.request, "download_path": services.data_export_download_path}
        return DataExportSerializer(export, context=context).data

    @extend_schema(request=None, responses={202: DataExportSerializer})
    def post(self, request):
        export = services.data_export_request(user=request.user)
        return Response(self._data(export), status=status.HTTP_202_ACCEPTED)  # the documented DataExport, whole

    @extend_schema(responses=DataExportSerializer)
    def get(self, request):
        export = services.data_export_latest(user=request.user)
        if export is None:
            raise Http404("No data export yet.")
        return Response(self._data(export))


@require_GET
def data_export_download(request):
    """The export's file, for whoever holds the signed link (a browser download cannot send a bearer token)."""
    token = request.GET.get("token", "")
    export = services.data_export_for_download(token=token) if len(token) <= 200 else None
    if export is None:
        return JsonResponse({"detail": "This download link is invalid or has expired."}, status=403)
    try:
        handle = default_storage.open(export.storage_key, "rb")
    except FileNotFoundError as exc:
        raise Http404("No such file.") from exc
    response = FileResponse(handle, as_attachment=True, filename=f"socialnet-export-{export.pk}.zip")
    response["Cache-Control"] = "private, no-store"
    return response
