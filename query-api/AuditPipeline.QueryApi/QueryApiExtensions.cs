using AuditPipeline.Queries;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Kafka;
using AuditPipeline.Redaction;
using AuditPipeline.ServiceDefaults;
using AuditPipeline.QueryApi.Auth;
using AuditPipeline.QueryApi.Endpoints;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.QueryApi;

public static class QueryApiExtensions
{
    public static WebApplicationBuilder AddQueryApi(this WebApplicationBuilder builder)
    {
        builder.AddServiceDefaults("query-api", web: true);
        var services = builder.Services;
        services.AddOptions<ClickHouseOptions>().BindConfiguration(ClickHouseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<QueryApiOptions>().BindConfiguration(QueryApiOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.DefaultPageSize <= o.MaxPageSize, "QueryApi:DefaultPageSize must not exceed QueryApi:MaxPageSize.").ValidateOnStart();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AlertLog>();
        services.AddSingleton<IncidentReadModel>();
        services.AddSingleton<WhyAuthorizedQuery>();
        services.AddSingleton(sp => new WhyAuthorizedService(sp.GetRequiredService<WhyAuthorizedQuery>(),
            sp.GetRequiredService<IOptions<QueryApiOptions>>().Value.ArchiveDirectory is { Length: > 0 } root ? new AuditPipeline.Retention.ArchiveLayout(root) : null,
            sp.GetRequiredService<ApiTrustedKeys>().Keys, sp.GetRequiredService<ApiRedaction>().Revealer));
        services.AddSingleton<AgentScopes>();
        services.AddSingleton<ChainVerifier>();
        services.AddSingleton<CheckpointLog>();
        services.AddSingleton(sp => new ProofService(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<ApiTrustedKeys>().Keys));
        services.AddSingleton<ExportJobs>();
        services.AddSingleton<ConsoleSessions>();
        AddSigning(builder);
        AddRedaction(builder);
        services.AddSingleton(sp =>
        {
            // The server stops a query at max_execution_time; the HTTP timeout only covers a server that stops answering.
            var limit = TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<QueryApiOptions>>().Value.ClickHouseMaxExecutionSeconds);
            return new ClickHouseClient(new HttpClient { Timeout = limit + TimeSpan.FromSeconds(20) },
                new Uri(sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Url), maxExecutionTime: limit);
        });
        services.AddSingleton<ApiMetrics>();
        services.AddSingleton<CallRecordBuffer>();
        services.AddSingleton<AnonymousCalls>();
        services.AddSingleton(sp => new CallRecordStore(sp.GetRequiredService<IStreamWriter>()));
        services.AddHostedService<CallRecordWriter>();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(options =>
        {
            Policies.Add(options);
            // Everything needs an authenticated principal unless it says otherwise (health).
            options.FallbackPolicy = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        RequestRateLimits.Add(services);
        services.AddProblemDetails();
        services.AddOpenApi();
        return builder;
    }

    /// <summary>Signing (on-demand checkpoints, exports) only where a key is configured; the key is loaded at start, never logged.</summary>
    /// <summary>With a master key, redacted fields are decrypted for readers (docs/redaction.md); without one they are shown as stored.</summary>
    private static void AddRedaction(WebApplicationBuilder builder)
    {
        var redaction = new RedactionOptions();
        builder.Configuration.GetSection(RedactionOptions.Section).Bind(redaction);
        builder.Services.AddOptions<RedactionOptions>().BindConfiguration(RedactionOptions.Section)
            .Validate(r => !r.Enabled || r.Problems().Count == 0, "Redaction:MasterKeyFile (or MasterKey) is not a valid redaction master key.").ValidateOnStart();
        var usable = redaction.Enabled && redaction.Problems().Count == 0;
        builder.Services.AddSingleton(sp => new ApiRedaction(usable
            ? new PayloadRevealer(new SubjectKeyStore(sp.GetRequiredService<NpgsqlDataSource>(), new RedactionKeys(redaction.LoadMasterKey()), sp.GetRequiredService<TimeProvider>()))
            : null));
        builder.Services.AddSingleton(_ => new QueryStringRedactor(usable ? new RedactionKeys(redaction.LoadMasterKey()) : null));
    }

    private static void AddSigning(WebApplicationBuilder builder)
    {
        var integrity = new IntegrityOptions();
        builder.Configuration.GetSection(IntegrityOptions.Section).Bind(integrity);
        builder.Services.AddOptions<IntegrityOptions>().BindConfiguration(IntegrityOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // What archive segments and earlier checkpoints are checked against: this API's own key and
        // Integrity:TrustedKeyFiles, never keys from the database or the archive.
        builder.Services.AddSingleton(sp => new ApiTrustedKeys(integrity.LoadTrustedKeys(sp.GetService<CheckpointSigner>())));
        if (!integrity.HasSigningKey)
        {
            return;
        }
        builder.Services.AddSingleton(_ => integrity.LoadSigner());
        builder.Services.AddSingleton(sp => new CheckpointService(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<CheckpointSigner>(),
            CheckpointService.SinksFrom(integrity, sp.GetRequiredService<IOptions<KafkaOptions>>().Value), earlierKeys: sp.GetRequiredService<ApiTrustedKeys>().Keys));
        builder.Services.AddSingleton(sp => new BundleExporter(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<CheckpointService>(),
            sp.GetRequiredService<CheckpointSigner>()));
    }

    public static WebApplication UseQueryApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        ConsoleEndpoints.UseConsole(app);
        // Limit first: a flood is turned away before it costs a key look-up or a call record.
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseMiddleware<CallRecorder>();
        app.UseAuthorization();
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (InvalidInputException ex) when (!context.Response.HasStarted)
            {
                await Results.ValidationProblem(new Dictionary<string, string[]> { [ex.Parameter] = [ex.Message] },
                    detail: ex.Message, title: "Invalid request").ExecuteAsync(context);
            }
            catch (ClickHouseException ex) when (ex.IsTimeout && !context.Response.HasStarted)
            {
                var limit = context.RequestServices.GetRequiredService<IOptions<QueryApiOptions>>().Value.ClickHouseMaxExecutionSeconds;
                await Results.Problem(statusCode: 503, title: "Query too expensive",
                    detail: $"The query ran longer than {limit} s (QueryApi:ClickHouseMaxExecutionSeconds) and was stopped; narrow the time range or add filters.")
                    .ExecuteAsync(context);
            }
        });
        app.MapOpenApi();
        HealthEndpoints.Map(app);
        // Prometheus text for the scraper, which authenticates like any client (an admin key).
        app.MapPrometheusScrapingEndpoint().RequireAuthorization(Policies.Admin);
        AgentEndpoints.Map(app);
        ActionEndpoints.Map(app);
        AuditEndpoints.Map(app);
        AlertEndpoints.Map(app);
        IntegrityEndpoints.Map(app);
        ExportEndpoints.Map(app);
        ConsoleEndpoints.Map(app);
        KeyEndpoints.Map(app);
        return app;
    }
}

/// <summary>The keys this API verifies checkpoints and archive segments with; null when it has none (archived answers are then not verified).</summary>
public sealed record ApiTrustedKeys(TrustedKeys? Keys);

/// <summary>The API's reader of redacted fields; null when no master key is configured.</summary>
public sealed record ApiRedaction(PayloadRevealer? Revealer);
