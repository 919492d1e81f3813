using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Inference;
using Pronto.Server.Training;

namespace Pronto.Server.Tests.Training;

/// <summary>
/// DELETE /v2/repository/training/{id} on a real server whose trainer is a gate (a stand-in for the scheduler's sake:
/// the real trainer's end-to-end jobs are in Pronto.Cli.Tests' TrainingApiTests): the first job runs and waits on the
/// gate, the second waits in the queue; the running one shows the progress its trainer reported; each is cancelled where it stands, and neither writes
/// anything.
/// </summary>
public sealed class TrainingCancelTests : IAsyncLifetime
{
    private const string AdminKey = "admin-key";
    private readonly GateTrainer _trainer = new();
    private readonly string _repository = Directory.CreateTempSubdirectory("pronto-training-cancel-").FullName;
    private ProntoServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync(o =>
        {
            o.ModelRepository = _repository;
            o.EnableRepositoryApi = true;
            o.AdminKeys.Add(AdminKey);
        }, services: s => s.AddSingleton<IModelTrainer>(_trainer));
        _http = new HttpClient { BaseAddress = _server.HttpUri };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.StopAsync();
        await _server.DisposeAsync();
        Directory.Delete(_repository, recursive: true);
    }

    private async Task<string> SubmitAsync(string model)
    {
        using var response = await _http.PostAsync($"/v2/repository/models/{model}/train", new StringContent("""{"data":"/data/t.csv","label":"y"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> WaitAsync(string id) =>
        JsonDocument.Parse(await _http.GetStringAsync($"/v2/repository/training/{id}?wait=true")).RootElement.Clone();

    [Fact]
    public async Task A_running_and_a_queued_job_are_cancelled_where_they_stand()
    {
        var running = await SubmitAsync("first");
        await _trainer.Entered.Task; // the first job is inside the trainer; the second must queue behind it
        var queued = await SubmitAsync("second");
        var progress = JsonDocument.Parse(await _http.GetStringAsync($"/v2/repository/training/{running}")).RootElement;
        Assert.Equal("running", progress.GetProperty("status").GetString());
        Assert.Equal("""{"stage":"embedding","done":32,"total":100}""", progress.GetProperty("progress").GetRawText());

        using (var cancel = await _http.DeleteAsync($"/v2/repository/training/{queued}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var second = await WaitAsync(queued);
        Assert.Equal("cancelled", second.GetProperty("status").GetString());
        Assert.False(second.TryGetProperty("started", out _));

        using (var cancel = await _http.DeleteAsync($"/v2/repository/training/{running}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var first = await WaitAsync(running);
        Assert.Equal("cancelled", first.GetProperty("status").GetString());
        Assert.True(first.TryGetProperty("started", out _));
        Assert.False(first.TryGetProperty("version", out _));
        Assert.Equal(["first"], _trainer.Started);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_repository));

        using var again = await _http.DeleteAsync($"/v2/repository/training/{running}");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using var unknown = await _http.DeleteAsync("/v2/repository/training/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    /// <summary>Records the job it starts, then waits until the job's token is cancelled (it never finishes by itself).</summary>
    private sealed class GateTrainer : IModelTrainer
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<string> Started { get; } = [];

        public async Task<TrainingOutcome> TrainAsync(TrainingRequest request, InferenceService service, Action<TrainingProgress> progress, CancellationToken cancellationToken)
        {
            progress(new TrainingProgress("embedding", 32, 100));
            lock (Started)
            {
                Started.Add(request.Model);
            }

            Entered.TrySetResult();
            await new TaskCompletionSource().Task.WaitAsync(cancellationToken); // a gate only cancellation opens
            throw new InvalidOperationException("unreachable: the gate opens only by cancellation");
        }
    }
}
