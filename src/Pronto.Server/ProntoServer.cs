using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Server.Grpc;
using Pronto.Server.Http;
using Pronto.Server.Training;
using Pronto.Server.WebConsole;
using Pronto.Server.Jobs;
using Pronto.Server.Metrics;

namespace Pronto.Server;

/// <summary>
/// The Pronto server: Open Inference Protocol v2 over REST (HTTP/1.1) and gRPC (HTTP/2), OpenAI-compatible
/// embeddings, /metrics. A library type: the CLI's <c>serve</c>, tests and benchmarks construct it.
/// </summary>
public sealed class ProntoServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions[] _listeners;
    private Task? _loading;

    private ProntoServer(WebApplication app, ListenOptions[] listeners, ProntoServerOptions options)
    {
        _app = app;
        _listeners = listeners;
        Options = options;
        Repository = app.Services.GetRequiredService<ModelRepository>();
    }

    public ProntoServerOptions Options { get; }

    public ModelRepository Repository { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The REST address once started (the bound port when 0 was asked for).</summary>
    public Uri HttpUri => new($"http://{Endpoint(0)}");

    /// <summary>The gRPC address once started.</summary>
    public Uri GrpcUri => new($"http://{Endpoint(1)}");

    /// <summary>Completes when the start-up load of the repository's models has finished (each model ready or failed).</summary>
    public Task ModelsLoaded => _loading ?? Task.CompletedTask;

    /// <summary>
    /// Builds a server from configuration (appsettings.json, environment, <paramref name="args"/>, section
    /// <c>Pronto</c>), then <paramref name="configure"/>. Invalid options fail here with the option's name.
    /// <paramref name="services"/> runs after Pronto's own registrations, so a host or test can replace one (tests
    /// register a fake <see cref="TimeProvider"/>: the clock of the dynamic batchers).
    /// </summary>
    public static ProntoServer Create(string[] args, Action<ProntoServerOptions>? configure = null, Action<ILoggingBuilder>? logging = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ApplicationName = typeof(ProntoServer).Assembly.GetName().Name });
        var options = builder.Configuration.GetSection(ProntoServerOptions.Section).Get<ProntoServerOptions>() ?? new ProntoServerOptions();
        configure?.Invoke(options);
        options.Validate();
        // Per-request hosting logs cost more than a small model's inference; keep them for debugging only.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging?.Invoke(builder.Logging);

        var listeners = new ListenOptions[2];
        var address = ParseHost(options.Host);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.Listen(address, options.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listeners[0] = listen;
            });
            kestrel.Listen(address, options.GrpcPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listeners[1] = listen;
            });
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Onnx);
        builder.Services.AddSingleton<OnnxBackend>();
        builder.Services.AddSingleton(provider =>
        {
            // The server serves a folder it is given; preparing the bundled models (training fraud, fetching minilm and
            // resnet18) is the CLI's work (`pronto serve` without --model-repository), so this library ships no trainer.
            if (string.IsNullOrEmpty(options.ModelRepository))
            {
                throw new InvalidOperationException("Pronto:ModelRepository must be set: the folder of models to serve (`pronto serve` prepares the bundled repository and passes it when none is given).");
            }

            var root = Path.GetFullPath(options.ModelRepository);
            if (!Directory.Exists(root))
            {
                throw new InvalidOperationException($"Pronto:ModelRepository '{root}' does not exist.");
            }

            return new ModelRepository(root, [provider.GetRequiredService<OnnxBackend>()], provider.GetRequiredService<ILogger<ModelRepository>>(), provider.GetRequiredService<TimeProvider>())
            {
                Lifecycle = options.Lifecycle(),
                ResponseCache = new ResponseCache(options.ResponseCacheBytes),
            };
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(options.MeasureEngineCpu ? CpuClock.Sampled(options.EngineCpuSampleEvery) : CpuClock.None);
        builder.Services.AddSingleton(provider => new InferenceService(provider.GetRequiredService<ModelRepository>(), provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<CpuClock>())
        {
            QueueWaitBudget = TimeSpan.FromMilliseconds(options.QueueWaitBudgetMs),
        });
        builder.Services.AddSingleton<ServerState>();
        builder.Services.AddHostedService<ShutdownDrain>();
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton<ApiKeys>();
        builder.Services.AddProntoGrpc(options);
        builder.Services.AddOpenApi();
        // Registered with no jobs too: the admin API adds them at run time.
        builder.Services.AddSingleton(_ => new JobStore(options.StateFolder()));
        builder.Services.AddSingleton(_ => new ApiJobFile(options.StateFolder()));
        builder.Services.AddSingleton<IJobRunner, ServerJobRunner>();
        builder.Services.AddSingleton<JobScheduler>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<JobScheduler>());
        builder.Services.AddSingleton<Training.TrainingJobs>();

        services?.Invoke(builder.Services);

        var app = builder.Build();
        // Built now, so that a jobs-api.json that no longer loads fails here, with the settings' errors.
        _ = app.Services.GetRequiredService<JobScheduler>();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseMiddleware<DrainMiddleware>();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.MapProntoRest();
        app.MapOpenAiRoutes();
        app.MapOpenAiGenerationRoutes();
        app.MapTokenizeRoutes();
        app.MapProntoGrpc();
        app.MapProntoMetrics();
        app.MapProntoJobs();
        app.MapProntoConsole();
        app.MapProntoTraining();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/openapi/v1.json", "Pronto REST");
            ui.RoutePrefix = "docs";
        });
        return new ProntoServer(app, listeners, options);
    }

    /// <summary>Starts listening, then loads the repository's models in the background (the server is live at once, ready when loaded).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        _loading = Options.LoadAllModels && Options.MaxLoadedModels == 0 && Options.MaxLoadedMemoryMb == 0
            ? Repository.LoadAllAsync(lifetime.ApplicationStopping)
            : LoadPreloadedAsync(lifetime.ApplicationStopping);
        Repository.StartIdleUnloading();
        _app.Services.GetRequiredService<ServerState>().Loading = _loading;
        _ = _app.Services.GetRequiredService<JobScheduler>().BeginAfter(_loading);
    }

    /// <summary>Under a bound of loaded models: only the preloaded (pinned) ones at start; the rest load on demand.</summary>
    private Task LoadPreloadedAsync(CancellationToken cancellationToken) => Task.Run(
        () =>
        {
            foreach (var name in Options.Preload)
            {
                Repository.TryLoad(name, cancellationToken);
            }
        },
        cancellationToken);

    /// <summary>
    /// Drains, then stops: readiness turns false and new requests get 503 at once, in-flight ones finish (up to
    /// ShutdownTimeout, <see cref="ShutdownDrain"/>), then the listeners close.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>
    /// Waits until the process is asked to stop (SIGTERM, Ctrl+C) or <paramref name="cancellationToken"/> fires,
    /// then stops gracefully as <see cref="StopAsync"/> does.
    /// </summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Repository.Dispose();
    }

    private static IPAddress ParseHost(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "0.0.0.0" => IPAddress.Any,
        "::" => IPAddress.IPv6Any,
        _ when IPAddress.TryParse(host, out var ip) => ip,
        _ => throw new InvalidOperationException($"Pronto:Host '{host}' is not an IP address (use 127.0.0.1, 0.0.0.0, ::, or localhost)."),
    };

    private string Endpoint(int index)
    {
        var endpoint = _listeners[index]?.IPEndPoint ?? throw new InvalidOperationException("the server has not started");
        return endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : $"{endpoint.Address}:{endpoint.Port}";
    }
}
