using System.Threading.Channels;
using System.Threading.RateLimiting;
using AuditPipeline.ClickHouse;
using AuditPipeline.Core.Access;
using AuditPipeline.Core.Contract;
using AuditPipeline.Core.Evidence;
using AuditPipeline.Core.Integrity;
using AuditPipeline.Core.Kafka;
using AuditPipeline.Core.Redaction;
using AuditPipeline.Core.Store;
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
        // Secrets as files (Docker/Kubernetes secrets) override the environment; see SecretFiles.
        Microsoft.Extensions.Configuration.KeyPerFileConfigurationBuilderExtensions.AddKeyPerFile(builder.Configuration, AuditPipeline.Core.SecretFiles.Directory, optional: true);
        var services = builder.Services;
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ClickHouseOptions>().BindConfiguration(ClickHouseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section);
        services.AddOptions<QueryApiOptions>().BindConfiguration(QueryApiOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.DefaultPageSize <= o.MaxPageSize, "QueryApi:DefaultPageSize must not exceed QueryApi:MaxPageSize.").ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString));
        services.AddSingleton<IEventStore>(sp => new PostgresEventStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AlertLog>();
        services.AddSingleton<WhyAuthorizedQuery>();
        services.AddSingleton<ChainVerifier>();
        services.AddSingleton<CheckpointLog>();
        services.AddSingleton<ProofService>();
        services.AddSingleton<ExportJobs>();
        services.AddSingleton<ConsoleSessions>();
        AddSigning(builder);
        AddRedaction(builder);
        services.AddSingleton(sp => new ClickHouseClient(new HttpClient { Timeout = TimeSpan.FromSeconds(30) },
            new Uri(sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Url)));
        services.AddSingleton(_ => Channel.CreateBounded<ApiCallRecorded>(new BoundedChannelOptions(100_000) { SingleReader = true }));
        services.AddHostedService<CallRecordWriter>();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(options =>
        {
            Policies.Add(options);
            // Everything needs an authenticated principal unless it says otherwise (health).
            options.FallbackPolicy = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var settings = context.RequestServices.GetRequiredService<IOptions<QueryApiOptions>>().Value;
                var principal = CallContext.Of(context).Principal;
                var partition = principal.StartsWith("unverified", StringComparison.Ordinal) || principal == "anonymous"
                    ? $"ip {context.Connection.RemoteIpAddress}"
                    : principal;
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = settings.Burst,
                    TokensPerPeriod = settings.RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                });
            });
            options.OnRejected = async (context, ct) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "1";
                await Results.Problem(statusCode: 429, title: "Too many requests",
                    detail: "This API key is over its request rate (QueryApi:RequestsPerSecond); retry after a second.").ExecuteAsync(context.HttpContext);
            };
        });
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
        builder.Services.AddSingleton(sp => new ApiRedaction(redaction.Enabled && redaction.Problems().Count == 0
            ? new PayloadRevealer(new SubjectKeyStore(sp.GetRequiredService<NpgsqlDataSource>(), new RedactionKeys(redaction.LoadMasterKey()), sp.GetRequiredService<TimeProvider>()))
            : null));
    }

    private static void AddSigning(WebApplicationBuilder builder)
    {
        var integrity = new IntegrityOptions();
        builder.Configuration.GetSection(IntegrityOptions.Section).Bind(integrity);
        builder.Services.AddOptions<IntegrityOptions>().BindConfiguration(IntegrityOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        if (!integrity.HasSigningKey)
        {
            return;
        }
        builder.Services.AddSingleton(_ => integrity.LoadSigner());
        builder.Services.AddSingleton(sp => new CheckpointService(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<CheckpointSigner>(),
            CheckpointService.SinksFrom(integrity, sp.GetRequiredService<IOptions<KafkaOptions>>().Value)));
        builder.Services.AddSingleton(sp => new BundleExporter(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<CheckpointService>(),
            sp.GetRequiredService<CheckpointSigner>()));
    }

    public static WebApplication UseQueryApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        ConsoleEndpoints.UseConsole(app);
        app.UseAuthentication();
        app.UseMiddleware<CallRecorder>();
        app.UseRateLimiter();
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
        });
        app.MapOpenApi();
        HealthEndpoints.Map(app);
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

/// <summary>The API's reader of redacted fields; null when no master key is configured.</summary>
public sealed record ApiRedaction(PayloadRevealer? Revealer);
