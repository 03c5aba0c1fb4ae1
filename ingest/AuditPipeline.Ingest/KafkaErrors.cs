using Confluent.Kafka;

namespace AuditPipeline.Ingest;

/// <summary>What a Kafka error means for the message it concerns.</summary>
public enum KafkaErrorKind
{
    /// <summary>Worth waiting out: the broker, the network or the topic comes back.</summary>
    Transient,
    /// <summary>Will fail the same way every time for this message: record it and move on.</summary>
    Permanent,
    /// <summary>The client cannot continue at all (librdkafka's fatal errors).</summary>
    Fatal,
}

public static class KafkaErrors
{
    public static KafkaErrorKind Classify(Error error) => error switch
    {
        { IsFatal: true } => KafkaErrorKind.Fatal,
        { Code: ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsg or ErrorCode.InvalidMsgSize
            or ErrorCode.Local_BadMsg or ErrorCode.InvalidRecord or ErrorCode.Local_KeySerialization
            or ErrorCode.Local_ValueSerialization or ErrorCode.Local_KeyDeserialization or ErrorCode.Local_ValueDeserialization
            or ErrorCode.UnsupportedForMessageFormat or ErrorCode.InvalidRequiredAcks or ErrorCode.TopicAuthorizationFailed
            or ErrorCode.TopicException } => KafkaErrorKind.Permanent,
        _ => KafkaErrorKind.Transient,
    };

    /// <summary>An operator-facing hint for errors that usually mean set-up, not load.</summary>
    public static string Hint(Error error, string topic) => error.Code switch
    {
        ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition =>
            $" (topic '{topic}' does not exist yet: create it, or check Ingest:Topic; ingest waits for it)",
        ErrorCode.TopicAuthorizationFailed or ErrorCode.GroupAuthorizationFailed =>
            " (the ingest credential lacks rights on the topic or group)",
        _ => "",
    };
}
