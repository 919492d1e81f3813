using System.CommandLine;
using Pronto.Server;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto serve</c>: the Open Inference Protocol v2 server over REST (port 8000) and gRPC (port 8001) on the
/// bundled repository or <c>--model-repository</c>. Settings also come from appsettings.json and environment
/// variables (section <c>Pronto</c>, e.g. <c>Pronto__HttpPort=9000</c>); flags given here win.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliContext context)
    {
        var host = new Option<string?>("--host") { Description = "Address to bind (default 127.0.0.1; 0.0.0.0 for every interface)." };
        var httpPort = new Option<int?>("--http-port") { Description = "REST port (default 8000; 0 picks a free one)." };
        var grpcPort = new Option<int?>("--grpc-port") { Description = "gRPC port (default 8001; 0 picks a free one)." };
        var apiKeys = new Option<string[]>("--api-key") { Description = "Require 'Authorization: Bearer KEY' for inference and metadata (repeat for several keys)." };
        var repositoryApi = new Option<bool>("--enable-repository-api") { Description = "Enable the repository API (index, load, unload); needs --admin-key." };
        var adminKeys = new Option<string[]>("--admin-key") { Description = "Key for the repository API (repeat for several)." };
        var cacheBytes = new Option<long?>("--response-cache-bytes") { Description = "Bytes of the response cache for models whose config has response_cache { enable: true } (default 64 MiB; 0 = off)." };
        var price = new Option<double?>("--price-per-cpu-hour") { Description = "Price of one CPU hour: also report the engine's CPU-seconds as money (pronto_cost_total, the statistics' cost)." };
        var command = new Command("serve", "Serve the repository's models over REST and gRPC (Open Inference Protocol v2, as Triton and KServe speak it).")
        {
            host, httpPort, grpcPort, apiKeys, repositoryApi, adminKeys, cacheBytes, price,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var repository = parse.GetValue(context.RepositoryOption);
            await using var server = CreateServer(options =>
            {
                options.ModelRepository = repository ?? options.ModelRepository;
                options.Host = parse.GetValue(host) ?? options.Host;
                options.HttpPort = parse.GetValue(httpPort) ?? options.HttpPort;
                options.GrpcPort = parse.GetValue(grpcPort) ?? options.GrpcPort;
                options.ApiKeys.AddRange(parse.GetValue(apiKeys) ?? []);
                options.EnableRepositoryApi |= parse.GetValue(repositoryApi);
                options.AdminKeys.AddRange(parse.GetValue(adminKeys) ?? []);
                options.ResponseCacheBytes = parse.GetValue(cacheBytes) ?? options.ResponseCacheBytes;
                options.PricePerCpuHour = parse.GetValue(price) ?? options.PricePerCpuHour;
            });
            try
            {
                await server.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                // Kestrel reports a taken port as an IOException: a user error, not a crash.
                throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.Unavailable, e.Message, e);
            }

            await context.Output.WriteLineAsync($"pronto serving {server.Repository.Root}: REST {server.HttpUri} (docs {server.HttpUri}docs), gRPC {server.GrpcUri}");
            await server.ModelsLoaded;
            foreach (var row in server.Repository.Index())
            {
                await context.Output.WriteLineAsync($"  {row.Name} {row.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {row.State.ToString().ToUpperInvariant()} {row.Reason}");
            }

            // Ctrl+C or SIGTERM: stop accepting, finish in-flight requests (up to ShutdownTimeout), then exit.
            await server.WaitForShutdownAsync(cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Invalid settings (a port out of range, keys missing) are the user's to fix: exit 2 with the setting's name.</summary>
    private static ProntoServer CreateServer(Action<ProntoServerOptions> configure)
    {
        try
        {
            return ProntoServer.Create([], configure);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.InvalidArgument, e.Message, e);
        }
    }
}
