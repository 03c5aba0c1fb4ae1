using System.Security.Cryptography;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Redaction;
using AuditPipeline.Emitter;
using Xunit;

namespace AuditPipeline.Redaction.Tests;

/// <summary>Issue 8: field envelopes, their binding to event and field, shredding and configuration.</summary>
public sealed class RedactionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private readonly RedactionKeys _keys = new(RandomNumberGenerator.GetBytes(RedactionKeys.MasterKeyBytes));
    private readonly SampleFleet _fleet = new(3, seed: 5);

    private AgentActionOccurred Sample() => _fleet.Next(_fleet.Agents[0], Now) with
    {
        Outcome = new Outcome { Status = OutcomeStatus.Failure, Message = "card 4111 1111 1111 1111 declined for Jane Roe" },
        Authorization = _fleet.Next(_fleet.Agents[0], Now).Authorization with { Approvals = [new Approval { Approver = "bob@example.com", ApprovedAt = Now }] },
        Delegation = new Delegation { OnBehalfOf = "jane@example.com", Chain = [new Actor { Type = ActorType.Human, Id = "jane@example.com", Name = "Jane Roe" }] },
    };

    [Fact]
    public void Encryption_round_trips_is_deterministic_and_is_bound_to_its_event_and_field()
    {
        var key = RandomNumberGenerator.GetBytes(RedactionKeys.SubjectKeyBytes);
        var (keyId, eventId, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var sealedText = FieldEnvelope.Encrypt(keyId, key, eventId, "action.input", "summarise Jane Roe's claims");

        Assert.StartsWith(FieldEnvelope.EncryptedPrefix + keyId.ToString("N") + ":", sealedText);
        Assert.DoesNotContain("Jane", sealedText);
        // A redelivered event encrypts to the same bytes, so it deduplicates as an exact duplicate.
        Assert.Equal(sealedText, FieldEnvelope.Encrypt(keyId, key, eventId, "action.input", "summarise Jane Roe's claims"));
        Assert.NotEqual(sealedText, FieldEnvelope.Encrypt(keyId, key, eventId, "action.input", "summarise Jane Roe's claim"));

        Assert.True(FieldEnvelope.TryParseEncrypted(sealedText, out var parsedId, out var bytes));
        Assert.Equal(keyId, parsedId);
        Assert.Equal("summarise Jane Roe's claims", FieldEnvelope.Decrypt(key, eventId, "action.input", bytes));
        // Copied into another event or another field, or with one bit flipped, it does not open.
        Assert.Null(FieldEnvelope.Decrypt(key, other, "action.input", bytes));
        Assert.Null(FieldEnvelope.Decrypt(key, eventId, "outcome.message", bytes));
        bytes[^1] ^= 1;
        Assert.Null(FieldEnvelope.Decrypt(key, eventId, "action.input", bytes));
        Assert.Null(FieldEnvelope.Decrypt(RandomNumberGenerator.GetBytes(RedactionKeys.SubjectKeyBytes), eventId, "action.input", bytes));
        Assert.False(FieldEnvelope.TryParseEncrypted("enc:v1:not-a-key-id:AAAA", out _, out _));
    }

    [Fact]
    public void Wrapped_subject_keys_open_only_under_their_own_id_and_master_key()
    {
        var subjectKey = RandomNumberGenerator.GetBytes(RedactionKeys.SubjectKeyBytes);
        var id = Guid.NewGuid();
        var wrapped = _keys.Wrap(id, subjectKey);
        Assert.Equal(92, wrapped.Length); // what migration 0008 checks
        Assert.Equal(subjectKey, _keys.Unwrap(id, wrapped));
        Assert.ThrowsAny<CryptographicException>(() => _keys.Unwrap(Guid.NewGuid(), wrapped));
        Assert.ThrowsAny<CryptographicException>(() => new RedactionKeys(RandomNumberGenerator.GetBytes(32)).Unwrap(id, wrapped));
        // Subject references are stable per master key and reveal nothing across keys.
        Assert.Equal(_keys.SubjectRef("jane@example.com"), _keys.SubjectRef("jane@example.com"));
        Assert.NotEqual(_keys.SubjectRef("jane@example.com"), new RedactionKeys(RandomNumberGenerator.GetBytes(32)).SubjectRef("jane@example.com"));
    }

    [Fact]
    public void Every_redactable_field_is_rewritten_and_revealed_and_shredding_leaves_only_the_marker()
    {
        var e = Sample();
        var subjectKey = RandomNumberGenerator.GetBytes(RedactionKeys.SubjectKeyBytes);
        var keyId = Guid.NewGuid();
        var original = RedactableFields.Values(e);
        Assert.Equal(["action.input", "outcome.message", "authorization.reason", "delegation.on_behalf_of", "delegation.chain[0].name", "authorization.approvals[0].approver"],
            original.Select(v => v.Path));

        var redacted = e;
        foreach (var field in RedactableFields.All)
        {
            redacted = RedactableFields.Map(redacted, field, (path, value) => FieldEnvelope.Encrypt(keyId, subjectKey, e.EventId, path, value));
        }
        var values = RedactableFields.Values(redacted);
        Assert.Equal(original.Select(v => v.Path), values.Select(v => v.Path));
        Assert.All(values, v => Assert.StartsWith(FieldEnvelope.EncryptedPrefix, v.Value));
        // The canonical bytes carry no plaintext of a redacted field, and stay valid contract JSON.
        var canonical = System.Text.Encoding.UTF8.GetString(ContractJson.SerializeCanonical(redacted));
        Assert.DoesNotContain("Jane Roe", canonical);
        Assert.DoesNotContain("bob@example.com", canonical);
        Assert.Equal(ContractJson.SerializeCanonical(redacted), ContractJson.SerializeCanonical(ContractJson.Deserialize(ContractJson.SerializeCanonical(redacted))));

        var live = PayloadRevealer.Reveal(redacted, new Dictionary<Guid, SubjectKey> { [keyId] = new(keyId, subjectKey, null) });
        Assert.Equal(ContractJson.SerializeCanonical(e), ContractJson.SerializeCanonical(live.Event));
        Assert.Equal(original.Count, live.Decrypted.Count);

        var shredded = PayloadRevealer.Reveal(redacted, new Dictionary<Guid, SubjectKey> { [keyId] = new(keyId, null, Now) });
        Assert.All(RedactableFields.Values(shredded.Event), v => Assert.Equal(FieldEnvelope.Shredded, v.Value));
        Assert.Equal(original.Count, shredded.Shredded.Count);
        Assert.Equal(original.Count, PayloadRevealer.Reveal(redacted, new Dictionary<Guid, SubjectKey>()).Unreadable.Count);
    }

    [Fact]
    public void Keyed_hashes_keep_equal_values_equal_across_list_positions_and_hide_them()
    {
        var a = _keys.HashValue("authorization.approvals[0].approver", "bob@example.com");
        Assert.Equal(a, _keys.HashValue("authorization.approvals[3].approver", "bob@example.com"));
        Assert.NotEqual(a, _keys.HashValue("authorization.approvals[0].approver", "rob@example.com"));
        Assert.NotEqual(a, _keys.HashValue("delegation.on_behalf_of", "bob@example.com"));
        Assert.StartsWith(FieldEnvelope.HashedPrefix, a);
        Assert.DoesNotContain("bob", a);
    }

    [Fact]
    public void Emitters_cannot_send_values_that_pose_as_redacted_ones()
    {
        var e = Sample();
        var forged = e with { Action = e.Action with { Input = "enc:v1:00000000000000000000000000000000:AAAA" } };
        var errors = new EventValidator(new ValidationLimits()).Validate(forged, Now);
        Assert.Contains(errors, x => x.Path == "$.action.input" && x.Message.Contains("reserved", StringComparison.Ordinal));
        var hashed = e with { Outcome = e.Outcome with { Message = "hmac:v1:abc" } };
        Assert.Contains(new EventValidator(new ValidationLimits()).Validate(hashed, Now), x => x.Path == "$.outcome.message");
        Assert.Empty(new EventValidator(new ValidationLimits()).Validate(e, Now));
    }

    [Fact]
    public void Configuration_names_every_bad_setting()
    {
        Assert.Empty(new RedactionOptions().Problems());
        Assert.False(new RedactionOptions().Enabled);
        var bad = new RedactionOptions { Encrypt = "action.input,agent.owner", Hash = "action.input", MasterKey = "not base64!" };
        var problems = bad.Problems();
        Assert.Contains(problems, p => p.Contains("'agent.owner' is not a redactable field", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'action.input' is listed in both", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Redaction:MasterKey) is not base64", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Contains("not base64!", StringComparison.Ordinal)); // the key is never echoed
        Assert.Contains(new RedactionOptions { MasterKey = Convert.ToBase64String(new byte[16]) }.Problems(), p => p.Contains("32 bytes", StringComparison.Ordinal));
        Assert.Contains(new RedactionOptions { MasterKeyFile = "/nonexistent/key" }.Problems(), p => p.Contains("does not exist", StringComparison.Ordinal));
        Assert.Equal([RedactableFields.ActionInput, RedactableFields.OutcomeMessage], new RedactionOptions().EncryptedFields);
    }
}
