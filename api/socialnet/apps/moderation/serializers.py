from rest_framework import serializers

from apps.common.fields import IdField

from .models import Report, TargetType


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class ReportCreateSerializer(serializers.Serializer):
    target_type = serializers.ChoiceField(choices=TargetType.choices)
    target_id = IdField()
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    note = serializers.CharField(max_length=Report.NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")


class ReportSerializer(serializers.ModelSerializer):
    reporter = UserRefSerializer(read_only=True)
    resolved_by = UserRefSerializer(read_only=True, allow_null=True)
    # Declared: `read_only_fields` would drop the model's blank=True, and the schema's enum then forbade the ""
    # that every open report answers.
    resolution = serializers.ChoiceField(
        choices=Report.Resolution.choices, allow_blank=True, read_only=True, help_text='"" while the report is open'
    )

    class Meta:
        model = Report
        fields = [
            "id",
            "reporter",
            "target_type",
            "target_id",
            "reason",
            "note",
            "status",
            "resolution",
            "resolved_by",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields


class ReportResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=Report.Resolution.choices)
    note = serializers.CharField(max_length=Report.NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")


class ReportQueueQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "resolved", "all"], required=False, default="all")
