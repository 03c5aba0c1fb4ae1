using AuditPipeline.Contracts;

namespace AuditPipeline.Contracts.Validation;

public sealed record FieldError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>
/// The contract's rules on a parsed event. The ingest evaluates the JSON Schema first, which says
/// the same for everything here except the checks that need the clock (<c>occurred_at</c> within
/// <see cref="ValidationLimits.MaxAge"/> and <see cref="ValidationLimits.MaxClockSkew"/>,
/// <c>approved_at</c> not in the future); the rest stays for emitters that validate without the
/// schema (<c>AgentActionEmitter</c>) and as a second line. Lengths count Unicode code points, as
/// JSON Schema's <c>maxLength</c> does.
/// </summary>
public sealed class EventValidator(ValidationLimits limits)
{
    public IReadOnlyList<FieldError> Validate(AgentActionOccurred e, DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        if (e.SchemaVersion != AgentActionOccurred.CurrentSchemaVersion)
        {
            errors.Add(new("$.schema_version", $"must be {AgentActionOccurred.CurrentSchemaVersion}, was {e.SchemaVersion}"));
        }
        if (e.EventId == Guid.Empty)
        {
            errors.Add(new("$.event_id", "must not be the nil UUID"));
        }
        // Age (Ingest:Validation:MaxAge) is checked by EventDecoder last, with a code of its own, so a
        // too-old event is otherwise valid and can be replayed after the limit is raised.
        if (e.OccurredAt > now + limits.MaxClockSkew)
        {
            errors.Add(new("$.occurred_at", $"is more than {limits.MaxClockSkew.TotalMinutes:0.#} minutes in the future"));
        }

        Id(errors, "$.agent.id", e.Agent.Id, required: true);
        Text(errors, "$.agent.name", e.Agent.Name, required: true);
        Text(errors, "$.agent.version", e.Agent.Version);
        Text(errors, "$.agent.model", e.Agent.Model);
        Text(errors, "$.agent.model_version", e.Agent.ModelVersion);
        Text(errors, "$.agent.framework", e.Agent.Framework);
        Id(errors, "$.agent.owner", e.Agent.Owner);
        Id(errors, "$.agent.team", e.Agent.Team);

        Id(errors, "$.delegation.on_behalf_of", e.Delegation.OnBehalfOf);
        Id(errors, "$.delegation.parent_agent_id", e.Delegation.ParentAgentId);
        List(errors, "$.delegation.chain", e.Delegation.Chain.Count);
        for (var i = 0; i < e.Delegation.Chain.Count; i++)
        {
            var actor = e.Delegation.Chain[i];
            if (actor is null)
            {
                errors.Add(new($"$.delegation.chain[{i}]", "must not be null"));
                continue;
            }
            Id(errors, $"$.delegation.chain[{i}].id", actor.Id, required: true);
            Text(errors, $"$.delegation.chain[{i}].name", actor.Name);
        }

        Text(errors, "$.action.operation", e.Action.Operation, required: true);
        Text(errors, "$.action.tool", e.Action.Tool);
        Text(errors, "$.action.input", e.Action.Input, max: limits.MaxInputLength);
        Id(errors, "$.action.resource.type", e.Action.Resource.Type, required: true);
        Text(errors, "$.action.resource.id", e.Action.Resource.Id, required: true, max: limits.MaxIdLength * 4);

        var authz = e.Authorization;
        Id(errors, "$.authorization.policy_id", authz.PolicyId, required: true);
        Id(errors, "$.authorization.policy_version", authz.PolicyVersion, required: true);
        Text(errors, "$.authorization.rule", authz.Rule);
        Text(errors, "$.authorization.reason", authz.Reason);
        Id(errors, "$.authorization.decision_id", authz.DecisionId);
        List(errors, "$.authorization.approvals", authz.Approvals.Count);
        for (var i = 0; i < authz.Approvals.Count; i++)
        {
            var approval = authz.Approvals[i];
            if (approval is null)
            {
                errors.Add(new($"$.authorization.approvals[{i}]", "must not be null"));
                continue;
            }
            Id(errors, $"$.authorization.approvals[{i}].approver", approval.Approver, required: true);
            Id(errors, $"$.authorization.approvals[{i}].approval_id", approval.ApprovalId);
            if (approval.ApprovedAt > now + limits.MaxClockSkew)
            {
                errors.Add(new($"$.authorization.approvals[{i}].approved_at", "is in the future"));
            }
        }

        if (e.Usage is { } usage)
        {
            NonNegative(errors, "$.usage.input_tokens", usage.InputTokens);
            NonNegative(errors, "$.usage.output_tokens", usage.OutputTokens);
            NonNegative(errors, "$.usage.duration_ms", usage.DurationMs);
            if (usage.CostUsd < 0 || usage.CostUsd > 1_000_000m)
            {
                errors.Add(new("$.usage.cost_usd", "must be between 0 and 1,000,000"));
            }
        }

        if (e.Context is { } context)
        {
            Id(errors, "$.context.trace_id", context.TraceId);
            Id(errors, "$.context.span_id", context.SpanId);
            Id(errors, "$.context.session_id", context.SessionId);
            Id(errors, "$.context.task_id", context.TaskId);
            Id(errors, "$.context.prompt_hash", context.PromptHash);
            Id(errors, "$.context.gateway_id", context.GatewayId);
        }

        Id(errors, "$.outcome.error_code", e.Outcome.ErrorCode);
        Text(errors, "$.outcome.message", e.Outcome.Message);

        // The redaction envelopes are written only by ingest; one arriving from an emitter would pose as redacted data.
        foreach (var (path, value) in RedactableFields.Values(e))
        {
            if (ReservedPrefixes.IsReserved(value))
            {
                errors.Add(new("$." + path, $"must not start with '{ReservedPrefixes.Encrypted}' or '{ReservedPrefixes.Hashed}' (reserved for values redacted at ingest)"));
            }
        }
        return errors;
    }

    private void Id(List<FieldError> errors, string path, string? value, bool required = false)
    {
        if (!Present(errors, path, value, required))
        {
            return;
        }
        if (value!.Length > limits.MaxIdLength && ContractSchema.CodePoints(value) is var length && length > limits.MaxIdLength)
        {
            errors.Add(new(path, $"is {length} characters; at most {limits.MaxIdLength} allowed"));
            return;
        }
        foreach (var c in value)
        {
            // Identifiers end up in logs, URLs and ClickHouse keys: printable, no whitespace.
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                errors.Add(new(path, "must not contain whitespace or control characters"));
                return;
            }
        }
    }

    private void Text(List<FieldError> errors, string path, string? value, bool required = false, int? max = null)
    {
        if (!Present(errors, path, value, required))
        {
            return;
        }
        var limit = max ?? limits.MaxTextLength;
        if (value!.Length > limit && ContractSchema.CodePoints(value) is var length && length > limit)
        {
            errors.Add(new(path, $"is {length} characters; at most {limit} allowed"));
            return;
        }
        foreach (var c in value)
        {
            if (c == '\0')
            {
                errors.Add(new(path, "must not contain NUL characters"));
                return;
            }
        }
    }

    private static bool Present(List<FieldError> errors, string path, string? value, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                errors.Add(new(path, "is required"));
            }
            return false;
        }
        if (value.Length == 0 || string.IsNullOrWhiteSpace(value))
        {
            errors.Add(new(path, "must not be empty"));
            return false;
        }
        return true;
    }

    private void List(List<FieldError> errors, string path, int count)
    {
        if (count > limits.MaxListLength)
        {
            errors.Add(new(path, $"has {count} entries; at most {limits.MaxListLength} allowed"));
        }
    }

    private static void NonNegative(List<FieldError> errors, string path, long value)
    {
        if (value < 0)
        {
            errors.Add(new(path, "must not be negative"));
        }
    }
}
