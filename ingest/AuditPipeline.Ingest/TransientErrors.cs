using System.Net.Sockets;
using Confluent.Kafka;
using Npgsql;

namespace AuditPipeline.Ingest;

/// <summary>Which failures are worth waiting out (the server comes back) and which stop the worker.</summary>
public static class TransientErrors
{
    public static bool IsTransient(Exception ex) => ex switch
    {
        PostgresException pg => pg.IsTransient
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal)   // connection exceptions
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal)   // insufficient resources
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)  // shutdown, cannot connect now
            || pg.SqlState is "40001" or "40P01",                       // serialization failure, deadlock
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        ProduceException<byte[], byte[]> produce => !produce.Error.IsFatal,
        KafkaException kafka => !kafka.Error.IsFatal,
        SocketException or IOException or TimeoutException => true,
        _ => ex.InnerException is not null && IsTransient(ex.InnerException),
    };

    /// <summary>
    /// The database refused the data itself (class 22 data exception, class 23 integrity violation):
    /// retrying the same rows fails the same way, but the other rows of the batch are fine.
    /// </summary>
    public static bool IsDataRefusal(PostgresException ex) =>
        ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal);

    /// <summary>A one-line description without connection strings or message contents.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        PostgresException pg => $"PostgreSQL {pg.SqlState}: {pg.MessageText}",
        NpgsqlException npgsql => $"PostgreSQL unreachable: {npgsql.InnerException?.Message ?? npgsql.Message}",
        KafkaException kafka => $"Kafka: {kafka.Error.Reason}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };
}
