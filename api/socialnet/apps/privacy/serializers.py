from rest_framework import serializers

from .models import DataExport


class DataExportSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = DataExport
        fields = ["id", "status", "created_at", "url"]
        read_only_fields = fields

    def get_url(self, obj) -> str | None:
        path = self.context["download_path"](export=obj)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if path and request else path
