using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Server;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto serve</c>: the Open Inference Protocol v2 server over REST (port 8000) and gRPC (port 8001) on the
/// bundled repository or <c>--model-repository</c>. Settings also come from appsettings.json and environment
/// variables (section <c>Pronto</c>, e.g. <c>Pronto__HttpPort=9000</c>); flags given here win.
/// </summary>
internal static class ServeCommand
{
    public const string Name = "serve";

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
        var idleUnload = new Option<int?>("--idle-unload-seconds") { Description = "Unload a model idle this long; its next request loads it again (scale to zero). 0: never (default)." };
        var maxMemory = new Option<int?>("--max-loaded-memory-mb") { Description = "At most this many MB of loaded models (resident memory measured at load); one more unloads the least recently used. Only --preload models load at start." };
        var maxLoaded = new Option<int?>("--max-loaded-models") { Description = "At most this many models loaded; one more unloads the least recently used. Only --preload models load at start." };
        var preload = new Option<string[]>("--preload") { Description = "Load this model at start and never unload it for idleness or room (repeat for several)." };
        var queueBudget = new Option<int?>("--queue-wait-budget-ms") { Description = "Longest a request waits for its model (default 2000): past the wait estimated from its measured run time, 503 + Retry-After at once. 0: no budget." };
        var shutdownTimeout = new Option<int?>("--shutdown-timeout-seconds") { Description = "On SIGTERM or Ctrl+C, how long in-flight requests may run on (default 30); new ones get 503 meanwhile." };
        var jobs = new Option<string?>("--jobs") { Description = "JSON file of scheduled batch jobs (name, cron, model, input, output with {time}, batch options); docs/batch.md." };
        var stateDirectory = new Option<string?>("--state-directory") { Description = "Folder of the scheduled runs' history (jobs.jsonl); default ~/.local/state/pronto." };
        var command = new Command(Name, "Serve the repository's models over REST and gRPC (Open Inference Protocol v2, as Triton and KServe speak it).")
        {
            host, httpPort, grpcPort, apiKeys, repositoryApi, adminKeys, shutdownTimeout, idleUnload, maxLoaded, maxMemory, preload, cacheBytes, price, queueBudget, jobs, stateDirectory,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var repository = parse.GetValue(context.RepositoryOption);
            await using var server = CreateServer(options =>
            {
                options.ModelRepository = repository ?? options.ModelRepository;
                if (string.IsNullOrEmpty(options.ModelRepository))
                {
                    // The bundled defaults: prepared here, so the server library only ever serves a folder it is given.
                    options.ModelRepository = context.OpenBundledRepositoryFolder();
                }

                options.Host = parse.GetValue(host) ?? options.Host;
                options.HttpPort = parse.GetValue(httpPort) ?? options.HttpPort;
                options.GrpcPort = parse.GetValue(grpcPort) ?? options.GrpcPort;
                options.ApiKeys.AddRange(parse.GetValue(apiKeys) ?? []);
                options.EnableRepositoryApi |= parse.GetValue(repositoryApi);
                options.AdminKeys.AddRange(parse.GetValue(adminKeys) ?? []);
                options.ShutdownTimeout = parse.GetValue(shutdownTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : options.ShutdownTimeout;
                options.IdleUnloadSeconds = parse.GetValue(idleUnload) ?? options.IdleUnloadSeconds;
                options.MaxLoadedModels = parse.GetValue(maxLoaded) ?? options.MaxLoadedModels;
                options.MaxLoadedMemoryMb = parse.GetValue(maxMemory) ?? options.MaxLoadedMemoryMb;
                options.Preload.AddRange(parse.GetValue(preload) ?? []);
                options.ResponseCacheBytes = parse.GetValue(cacheBytes) ?? options.ResponseCacheBytes;
                options.PricePerCpuHour = parse.GetValue(price) ?? options.PricePerCpuHour;
                options.QueueWaitBudgetMs = parse.GetValue(queueBudget) ?? options.QueueWaitBudgetMs;
                options.JobsFile = parse.GetValue(jobs) ?? options.JobsFile;
                options.StateDirectory = parse.GetValue(stateDirectory) ?? options.StateDirectory;
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
            // A stop during the start-up load cancels it: nothing to list then, and still a clean shutdown.
            await server.ModelsLoaded.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (server.ModelsLoaded.IsCompletedSuccessfully)
            {
                foreach (var row in server.Repository.Index())
                {
                    await context.Output.WriteLineAsync($"  {row.Name} {row.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {row.State.ToString().ToUpperInvariant()} {row.Reason}");
                }
            }

            // SIGTERM or Ctrl+C reach the host itself (ProntoCli leaves them to it for serve): not ready and 503 for new
            // requests at once, in-flight ones finish (up to ShutdownTimeout), then exit 0.
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
            // The training job API (POST /v2/repository/models/{name}/finetune | /train) runs pronto finetune's and train's code.
            return ProntoServer.Create([], configure, services: s => s.AddSingleton<Server.Training.IModelTrainer, Finetune.CliModelTrainer>());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.InvalidArgument, e.Message, e);
        }
    }
}
