using System.Collections.Concurrent;
using System.IO.Compression;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Store;
using AuditPipeline.QueryApi.Auth;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record ExportRequestBody(DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<string>? Agents, IReadOnlyList<string>? Owners);

public sealed record ExportStatus(
    Guid Id, string State, long Events, long Total, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> Agents, IReadOnlyList<string> Owners,
    DateTimeOffset CreatedAt, string? Error, long? BundleBytes, long? CheckpointSize, string? Download);

/// <summary>The job started, or why not: the status (429, 503) and what to tell the caller.</summary>
public sealed record ExportAdmission(ExportJobs.Job? Job, int RefusedStatus = 0, string? Refusal = null);

/// <summary>
/// Evidence exports run one at a time in the background: the request returns at once with a job
/// id, the job reports progress, and the finished bundle is served as a zip to the principal who
/// asked for it. Bundles are deleted after <see cref="QueryApiOptions.ExportRetentionHours"/>.
/// The queue is bounded: at most <see cref="QueryApiOptions.MaxPendingExports"/> jobs wait or run
/// (beyond: 503), at most <see cref="QueryApiOptions.MaxPendingExportsPerKey"/> of one key (429).
/// </summary>
public sealed class ExportJobs(IServiceProvider services, IOptions<QueryApiOptions> options, ILogger<ExportJobs> logger) : IDisposable
{
    private readonly ConcurrentDictionary<Guid, Job> _jobs = new();
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly Lock _admission = new();

    private string Root => options.Value.ExportDirectory is { Length: > 0 } dir ? dir : Path.Combine(Path.GetTempPath(), "auditpipeline-exports");

    public ExportAdmission Start(ExportRequest request, string principal)
    {
        Sweep();
        Job job;
        lock (_admission)
        {
            var pending = _jobs.Values.Where(j => j.State is "queued" or "running").ToList();
            var limits = options.Value;
            if (pending.Count(j => j.Principal == principal) >= limits.MaxPendingExportsPerKey)
            {
                return new ExportAdmission(null, 429, $"This key already has {limits.MaxPendingExportsPerKey} exports waiting or running (QueryApi:MaxPendingExportsPerKey); retry when one has finished.");
            }
            if (pending.Count >= limits.MaxPendingExports)
            {
                return new ExportAdmission(null, 503, $"The export queue is full ({limits.MaxPendingExports} exports waiting or running, QueryApi:MaxPendingExports); retry later.");
            }
            job = new Job(Guid.CreateVersion7(), request, principal, DateTimeOffset.UtcNow);
            _jobs[job.Id] = job;
        }
        _ = Task.Run(() => RunAsync(job));
        return new ExportAdmission(job);
    }

    public Job? Find(Guid id, string principal) => _jobs.TryGetValue(id, out var job) && job.Principal == principal ? job : null;

    private async Task RunAsync(Job job)
    {
        await _oneAtATime.WaitAsync();
        var folder = Path.Combine(Root, job.Id.ToString());
        try
        {
            job.State = "running";
            var exporter = services.GetRequiredService<BundleExporter>();
            var result = await exporter.ExportAsync(job.Request, folder, new Progress(job), CancellationToken.None);
            var zip = folder + ".zip";
            ZipFile.CreateFromDirectory(folder, zip, CompressionLevel.Fastest, includeBaseDirectory: false);
            Directory.Delete(folder, recursive: true);
            job.Zip = zip;
            job.BundleBytes = new FileInfo(zip).Length;
            job.CheckpointSize = result.Checkpoint.Size;
            job.Events = result.Events;
            job.State = "done";
            logger.LogInformation("Export {Id} for {Principal}: {Events} events, {Bytes} bytes", job.Id, job.Principal, result.Events, job.BundleBytes);
        }
        catch (Exception ex)
        {
            job.State = "failed";
            job.Error = ex is ArgumentException or IOException or InvalidOperationException ? ex.Message : "the export failed; see the API's log";
            logger.LogError(ex, "Export {Id} failed", job.Id);
            TryDelete(folder);
            TryDelete(folder + ".partial");
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private void Sweep()
    {
        var cutoff = DateTimeOffset.UtcNow.AddHours(-options.Value.ExportRetentionHours);
        foreach (var job in _jobs.Values.Where(j => j.CreatedAt < cutoff && j.State is "done" or "failed"))
        {
            if (_jobs.TryRemove(job.Id, out _) && job.Zip is { } zip && File.Exists(zip))
            {
                File.Delete(zip);
            }
        }
    }

    private static void TryDelete(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public void Dispose() => _oneAtATime.Dispose();

    public sealed class Job(Guid id, ExportRequest request, string principal, DateTimeOffset createdAt)
    {
        public Guid Id { get; } = id;
        public ExportRequest Request { get; } = request;
        public string Principal { get; } = principal;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        private long _events;
        private long _total;
        private volatile string _state = "queued";

        public string State { get => _state; set => _state = value; }
        public long Events { get => Interlocked.Read(ref _events); set => Interlocked.Exchange(ref _events, value); }
        public long Total { get => Interlocked.Read(ref _total); set => Interlocked.Exchange(ref _total, value); }
        public string? Error { get; set; }
        public string? Zip { get; set; }
        public long? BundleBytes { get; set; }
        public long? CheckpointSize { get; set; }

        public ExportStatus Status() => new(Id, State, Events, Total, Request.From, Request.To, Request.Agents, Request.Owners,
            CreatedAt, Error, BundleBytes, CheckpointSize, State == "done" ? $"/v1/exports/{Id}/bundle" : null);
    }

    private sealed class Progress(Job job) : IProgress<ExportProgress>
    {
        public void Report(ExportProgress value)
        {
            job.Events = value.Events;
            job.Total = value.Total;
        }
    }
}

public static class ExportEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/exports").WithTags("integrity").RequireAuthorization(Policies.Audit);

        group.MapPost("/", (ExportRequestBody? body, HttpContext http, TimeProvider clock, IOptions<QueryApiOptions> options) =>
        {
            if (http.RequestServices.GetService<BundleExporter>() is null)
            {
                return IntegrityEndpoints.NotConfigured();
            }
            if (AccessScope.Of(http.User).IsScoped)
            {
                return Results.Problem(statusCode: 403, title: "Forbidden",
                    detail: "Evidence exports cover whole chains and need an unscoped auditor key.");
            }
            if (body?.From is not { } from || body.To is not { } to)
            {
                throw new InvalidInputException("from", "'from' and 'to' (RFC 3339 times) are required.");
            }
            if (to <= from)
            {
                throw new InvalidInputException("to", "'to' must be after 'from'.");
            }
            if (to - from > TimeSpan.FromDays(options.Value.MaxExportDays))
            {
                throw new InvalidInputException("to", $"An export covers at most {options.Value.MaxExportDays} days (QueryApi:MaxExportDays); use auditctl export for longer ranges.");
            }
            var agents = Ids(body.Agents, "agents");
            var owners = Ids(body.Owners, "owners");
            var call = CallContext.Of(http);
            var admission = http.RequestServices.GetRequiredService<ExportJobs>()
                .Start(new ExportRequest(from, to, agents, owners, $"api {call.Principal} ({call.PrincipalOwner})"), call.Principal);
            if (admission.Job is not { } job)
            {
                http.Response.Headers.RetryAfter = "60";
                return Results.Problem(statusCode: admission.RefusedStatus, title: admission.RefusedStatus == 429 ? "Too many exports" : "Export queue full",
                    detail: admission.Refusal);
            }
            return Results.Accepted($"/v1/exports/{job.Id}", job.Status());
        }).WithSummary("Start a SOX evidence export for a time range (optionally some agents or owners); poll the job, then download the bundle");

        group.MapGet("/{id:guid}", (Guid id, HttpContext http, ExportJobs jobs) =>
            jobs.Find(id, CallContext.Of(http).Principal) is { } job ? Results.Ok(job.Status()) : AgentEndpoints.NotFound($"No export {id} of yours."))
            .WithSummary("An export's state and progress (events written of the total)");

        group.MapGet("/{id:guid}/bundle", (Guid id, HttpContext http, ExportJobs jobs) =>
        {
            if (jobs.Find(id, CallContext.Of(http).Principal) is not { } job)
            {
                return AgentEndpoints.NotFound($"No export {id} of yours.");
            }
            if (job.State != "done" || job.Zip is null || !File.Exists(job.Zip))
            {
                return Results.Problem(statusCode: 409, title: "Not ready", detail: $"Export {id} is {job.State}{(job.Error is null ? "" : $": {job.Error}")}.");
            }
            return Results.File(job.Zip, "application/zip", $"evidence-{job.Request.From:yyyyMMdd'T'HHmm}-{job.Request.To:yyyyMMdd'T'HHmm}-{id.ToString()[..8]}.zip", enableRangeProcessing: true);
        }).WithSummary("The finished bundle as a zip (unzip, then auditctl verify-bundle <folder>)");
    }

    private static List<string> Ids(IReadOnlyList<string>? values, string name)
    {
        var list = values ?? [];
        if (list.Count > 1000)
        {
            throw new InvalidInputException(name, $"'{name}' names at most 1,000 ids.");
        }
        return list.Select(v => QueryInput.Id(v, name) ?? throw new InvalidInputException(name, $"'{name}' has an empty id.")).Distinct(StringComparer.Ordinal).ToList();
    }
}
