using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Cli.Finetune;
using Pronto.Server;
using Pronto.Server.Training;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// The server's training job API with <c>pronto serve</c>'s trainer, on a real server (admin key, repository API on)
/// over a temporary repository that links the bundled minilm: jobs fine-tune and train, the new models serve when
/// their job ends, and a bad job fails alone and writes nothing. <c>?wait=true</c> is the hook a test (or a script)
/// awaits instead of polling.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class TrainingApiTests : IAsyncLifetime
{
    private const string AdminKey = "admin-key";
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-training-api-").FullName;
    private readonly BundledRepositoryFixture _fixture;
    private ProntoServer _server = null!;
    private HttpClient _http = null!;

    public TrainingApiTests(BundledRepositoryFixture fixture) => _fixture = fixture;

    private string Repository => Path.Combine(_temp, "repository");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Repository);
        Directory.CreateSymbolicLink(Path.Combine(Repository, "minilm"), Path.Combine(_fixture.Root, "minilm"));
        _server = ProntoServer.Create([], options =>
        {
            options.HttpPort = 0;
            options.GrpcPort = 0;
            options.ModelRepository = Repository;
            options.StateDirectory = Path.Combine(_temp, "state");
            options.EnableRepositoryApi = true;
            options.AdminKeys.Add(AdminKey);
        }, services: s => s.AddSingleton<IModelTrainer, CliModelTrainer>());
        await _server.StartAsync();
        await _server.ModelsLoaded;
        _http = new HttpClient { BaseAddress = _server.HttpUri };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.StopAsync();
        await _server.DisposeAsync();
        Directory.Delete(_temp, recursive: true);
    }

    private async Task<JsonElement> SubmitAndWaitAsync(string path, string body)
    {
        using var submitted = await _http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var job = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement;
        var id = job.GetProperty("id").GetString()!;
        Assert.Equal($"/v2/repository/training/{id}", submitted.Headers.Location!.ToString());
        Assert.Contains(job.GetProperty("status").GetString(), (string[])["queued", "running"]);
        using var done = await _http.GetAsync($"/v2/repository/training/{id}?wait=true");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        return JsonDocument.Parse(await done.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task A_finetune_job_writes_a_version_that_serves_when_it_ends()
    {
        var csv = Path.Combine(_temp, "tickets.csv");
        await File.WriteAllTextAsync(csv, "text,label\n" + string.Concat(LabeledTexts.Generate(40).Select(r => $"{r.Text},{r.Label}\n")));
        var job = await SubmitAndWaitAsync("/v2/repository/models/tickets/finetune", $$"""{"base":"minilm","data":"{{csv}}","seed":7}""");
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("version").GetInt64());
        Assert.True(job.GetProperty("promoted").GetBoolean());
        Assert.Equal("the model's first version", job.GetProperty("reason").GetString());
        Assert.Equal("minilm", job.GetProperty("report").GetProperty("base_model").GetString());

        using var infer = await _http.PostAsync("/v2/models/tickets/infer", new StringContent(
            """{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["I was charged twice on my card"]}],"outputs":[{"name":"probabilities","parameters":{"classification":1}}]}"""));
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        var data = JsonDocument.Parse(await infer.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString()!;
        Assert.Contains(data.Split(':')[2], LabeledTexts.Labels);
    }

    [Fact]
    public async Task A_train_job_on_a_table_serves_json_rows()
    {
        var iris = SklearnTables.Iris(_temp);
        var job = await SubmitAndWaitAsync("/v2/repository/models/iris/train", $$"""{"data":"{{iris}}","label":"species"}""");
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal("macro_f1", job.GetProperty("report").GetProperty("metric").GetString());

        using var infer = await _http.PostAsync("/v2/models/iris/infer", new StringContent(
            """{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":["{\"sepal_length\":5.1,\"sepal_width\":3.5,\"petal_length\":1.4,\"petal_width\":0.2}"]}],"outputs":[{"name":"probabilities","parameters":{"classification":1}}]}"""));
        Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        Assert.EndsWith(":0:setosa\"]", JsonDocument.Parse(await infer.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs")[0].GetProperty("data").GetRawText(), StringComparison.Ordinal);
    }

    private static MultipartFormDataContent Upload(string fileName, byte[] data, string? request)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(data), "file", fileName } };
        if (request is not null)
        {
            form.Add(new StringContent(request, Encoding.UTF8), "request");
        }

        return form;
    }

    private static byte[] TicketsCsv(int rows) =>
        Encoding.UTF8.GetBytes(string.Join('\n', ["text,label", .. LabeledTexts.Generate(rows).Select(r => $"{r.Text},{r.Label}")]) + "\n");

    private async Task<JsonElement> UploadAndWaitAsync(string path, MultipartFormDataContent form)
    {
        using var submitted = await _http.PostAsync(path, form);
        var text = await submitted.Content.ReadAsStringAsync();
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        using var done = await _http.GetAsync($"/v2/repository/training/{id}?wait=true");
        return JsonDocument.Parse(await done.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static string[] Uploads() => [.. Directory.EnumerateDirectories(Path.GetTempPath(), "pronto-training-upload-*")];

    [Fact]
    public async Task An_uploaded_table_and_a_zipped_one_fine_tune_and_the_uploads_are_deleted_when_the_jobs_end()
    {
        var before = Uploads();
        using (var csv = Upload("tickets.csv", TicketsCsv(40), """{"base":"minilm","seed":7}"""))
        {
            var job = await UploadAndWaitAsync("/v2/repository/models/tickets/finetune", csv);
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Equal(1, job.GetProperty("version").GetInt64());
            Assert.Equal("""{"stage":"training","done":1,"total":1}""", job.GetProperty("progress").GetRawText());
        }

        var zip = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(zip, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            await using var entry = archive.CreateEntry("tickets.csv").Open();
            await entry.WriteAsync(TicketsCsv(40));
        }

        using (var zipped = Upload("tickets.zip", zip.ToArray(), """{"base":"minilm","seed":7,"force":true}"""))
        {
            var job = await UploadAndWaitAsync("/v2/repository/models/tickets/finetune", zipped);
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Equal(2, job.GetProperty("version").GetInt64());
        }

        // Same rows, same seed: the same model bytes, whichever way the data came.
        Assert.Equal(File.ReadAllBytes(Path.Combine(Repository, "tickets", "1", "model.onnx")), File.ReadAllBytes(Path.Combine(Repository, "tickets", "2", "model.onnx")));
        Assert.Equal(before, Uploads());
        using var served = await _http.PostAsync("/v2/models/tickets/infer", new StringContent("""{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["where is my parcel"]}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    public static TheoryData<string, string?, string> BadUploads => new()
    {
        { "tickets.txt", """{"base":"minilm"}""", "uploaded file 'tickets.txt': use a .csv, .jsonl or .parquet table, or a .zip of an image folder or of a table with its images" },
        { "tickets.csv", """{"base":"minilm","data":"/d.csv"}""", "give 'data' (a server path) or upload a file, not both" },
        { "tickets.csv", null, "a finetune request needs 'base'" },
        { "tickets.zip", """{"base":"minilm"}""", "uploaded file 'tickets.zip' is not a readable .zip archive: " },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task A_bad_upload_is_a_400_that_starts_no_job_and_keeps_no_file(string fileName, string? request, string message)
    {
        var before = Uploads();
        using var form = Upload(fileName, TicketsCsv(8), request);
        using var response = await _http.PostAsync("/v2/repository/models/tickets/finetune", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(message, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(_server.Services.GetRequiredService<TrainingJobs>().Jobs);
        Assert.Equal(before, Uploads());
    }

    [Fact]
    public async Task An_upload_without_a_file_part_is_a_400()
    {
        using var form = new MultipartFormDataContent { { new StringContent("""{"base":"minilm"}"""), "request" } };
        using var response = await _http.PostAsync("/v2/repository/models/tickets/finetune", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("the upload has no 'file' part (the data)", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Cancelling_an_ended_job_is_a_conflict()
    {
        var job = await SubmitAndWaitAsync("/v2/repository/models/bad/train", $$"""{"data":"{{Path.Combine(_temp, "none.csv")}}","label":"y"}""");
        var id = job.GetProperty("id").GetString();
        using var response = await _http.DeleteAsync($"/v2/repository/training/{id}");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal($"training job '{id}' has already ended (failed)", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_bad_job_fails_alone_writes_nothing_and_the_server_serves_on()
    {
        var missing = Path.Combine(_temp, "no-such.csv");
        var job = await SubmitAndWaitAsync("/v2/repository/models/bad/train", $$"""{"data":"{{missing}}","label":"y"}""");
        Assert.Equal("failed", job.GetProperty("status").GetString());
        Assert.Equal($"data file '{missing}' does not exist", job.GetProperty("error").GetString());
        Assert.False(job.TryGetProperty("version", out _));
        Assert.Equal(["minilm"], Directory.EnumerateFileSystemEntries(Repository).Select(Path.GetFileName));

        using var ready = await _http.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var list = await _http.GetAsync("/v2/repository/training");
        var jobs = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs");
        Assert.Equal("failed", jobs.EnumerateArray().Single(j => j.GetProperty("id").GetString() == job.GetProperty("id").GetString()).GetProperty("status").GetString());
    }

    public static TheoryData<string, string, HttpStatusCode, string> BadRequests => new()
    {
        { "/v2/repository/models/x/train", """{"data":"/d.csv","label":"y","colour":"red"}""", HttpStatusCode.BadRequest, "unknown field 'colour' in a train request; the fields are data, label, task, features, test_fraction, seed, force" },
        { "/v2/repository/models/x/finetune", """{"data":"/d.csv"}""", HttpStatusCode.BadRequest, "a finetune request needs 'base'" },
        { "/v2/repository/models/x/train", """{"data":"/d.csv","label":"y","seed":-1}""", HttpStatusCode.BadRequest, "'seed' must be a non-negative integer" },
        { "/v2/repository/models/x/train", "[1]", HttpStatusCode.BadRequest, "the training request must be a JSON object" },
        { "/v2/repository/training/nope", "", HttpStatusCode.NotFound, "unknown training job 'nope'" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_is_a_clear_error_before_any_job_starts(string path, string body, HttpStatusCode status, string message)
    {
        using var response = body.Length == 0 ? await _http.GetAsync(path) : await _http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(message, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Empty(_server.Services.GetRequiredService<TrainingJobs>().Jobs);
    }

    [Fact]
    public async Task Without_the_admin_key_the_api_is_closed()
    {
        using var anonymous = new HttpClient { BaseAddress = _server.HttpUri };
        using var response = await anonymous.PostAsync("/v2/repository/models/x/train", new StringContent("""{"data":"/d.csv","label":"y"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
