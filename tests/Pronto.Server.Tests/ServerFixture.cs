using Microsoft.Extensions.DependencyInjection;
using Pronto.Models;
using Pronto.Server;

namespace Pronto.Server.Tests;

/// <summary>
/// One real server (Kestrel on free loopback ports, HTTP/1.1 REST and HTTP/2 gRPC) over the bundled repository,
/// shared by a test collection. Tests that need other settings (auth, repository API) start their own.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ProntoServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var root = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(root);
        Server = await StartAsync(options => options.ModelRepository = root);
        Http = new HttpClient { BaseAddress = Server.HttpUri };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
    }

    /// <summary>
    /// Starts a server on free ports with <paramref name="configure"/> applied, and waits for its models; with
    /// <paramref name="time"/>, its dynamic batchers run on that clock (a fake one in tests); <paramref name="services"/>
    /// replaces other services (a fake CPU clock).
    /// </summary>
    public static async Task<ProntoServer> StartAsync(Action<ProntoServerOptions> configure, TimeProvider? time = null, Action<IServiceCollection>? services = null)
    {
        var server = ProntoServer.Create(
            [],
            options =>
            {
                options.HttpPort = 0;
                options.GrpcPort = 0;
                // Never the user's own state folder (its jobs.jsonl and jobs-api.json); created only if a job runs or is added.
                options.StateDirectory = Path.Combine(Path.GetTempPath(), "pronto-test-state", Guid.NewGuid().ToString("N"));
                configure(options);
            },
            services: s =>
            {
                if (time is not null)
                {
                    s.AddSingleton(time);
                }

                services?.Invoke(s);
            });
        await server.StartAsync();
        await server.ModelsLoaded;
        return server;
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
