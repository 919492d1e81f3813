using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Models;
using Pronto.Remote;
using Pronto.Server;
using Pronto.Testing;

namespace Pronto.Library.Tests;

/// <summary>
/// A real Pronto server (Kestrel, OIP v2 gRPC, /v1) over fraud, minilm and a generated tiny decoder, and the same
/// repository opened in-process: <see cref="ProntoClient"/> and <see cref="ProntoRuntime"/> answer the same calls with
/// the same values, so an application switches between them by the line that makes its <see cref="IProntoModels"/>.
/// </summary>
public sealed class RemoteServerFixture : IAsyncLifetime
{
    public string Root { get; } = Directory.CreateTempSubdirectory("pronto-remote-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public ProntoRuntime Local { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var zoo = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(zoo);
        foreach (var name in (string[])["fraud", "minilm"])
        {
            Directory.CreateSymbolicLink(Path.Combine(Root, name), Path.Combine(zoo, name));
        }

        TinyDecoder.Write(Root, "tiny");
        Server = ProntoServer.Create([], options =>
        {
            options.HttpPort = 0;
            options.GrpcPort = 0;
            options.ModelRepository = Root;
            options.StateDirectory = Path.Combine(Root, ".state");
        });
        await Server.StartAsync();
        await Server.ModelsLoaded;
        Local = ProntoRuntime.Open(Root);
    }

    public async Task DisposeAsync()
    {
        Local.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    public ProntoClient Connect() => ProntoClient.Connect(Server.HttpUri, Server.GrpcUri);
}

public sealed class RemoteClientTests(RemoteServerFixture fixture) : IClassFixture<RemoteServerFixture>
{
    private static readonly Dictionary<string, double> Transaction = new()
    {
        ["amount"] = 950, ["customer_avg_amount"] = 40, ["merchant_category"] = 3, ["hour"] = 3, ["distance_km"] = 800, ["txn_last_hour"] = 6,
    };

    public static TheoryData<bool> Where => new() { false, true };

    private IProntoModels Open(bool remote) => remote ? fixture.Connect() : ProntoRuntime.Open(fixture.Root);

    [Fact]
    public async Task Embeddings_over_grpc_equal_the_in_process_ones()
    {
        using var client = fixture.Connect();
        using var remote = client.GetEmbeddingGenerator("minilm");
        using var local = fixture.Local.GetEmbeddingGenerator("minilm");
        string[] texts = ["a cat sat on the mat", "stock markets fell", ""];
        var expected = await local.GenerateAsync(texts);
        var actual = await remote.GenerateAsync(texts);
        Assert.Equal(3, actual.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(expected[i].Vector.ToArray(), actual[i].Vector.ToArray());
            Assert.Equal("minilm", actual[i].ModelId);
        }

        Assert.Equal(384, remote.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        Assert.Same(client, remote.GetService<ProntoClient>());
    }

    [Fact]
    public async Task Fraud_over_grpc_gives_the_in_process_probabilities_and_labels()
    {
        using var client = fixture.Connect();
        var remote = client.GetClassifier("fraud");
        var local = fixture.Local.GetClassifier("fraud");
        Assert.Empty(remote.Labels);
        var expected = await local.ClassifyAsync([Transaction, new Dictionary<string, double>(Transaction) { ["amount"] = 12, ["distance_km"] = 1 }]);
        var actual = await remote.ClassifyAsync([Transaction, new Dictionary<string, double>(Transaction) { ["amount"] = 12, ["distance_km"] = 1 }]);
        Assert.Equal(local.Labels, remote.Labels);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(expected[i].Label, actual[i].Label);
            Assert.Equal(expected[i].Probability, actual[i].Probability);
            Assert.Equal(expected[i].Classes, actual[i].Classes);
        }
    }

    [Theory]
    [MemberData(nameof(Where))]
    public async Task A_seeded_chat_is_the_same_text_in_process_and_over_v1(bool remote)
    {
        using var pronto = Open(remote);
        using var chat = pronto.GetChatClient("tiny");
        using var local = fixture.Local.GetChatClient("tiny");
        ChatMessage[] messages = [new(ChatRole.System, "be brief"), new(ChatRole.User, "hello there")];
        var options = new ChatOptions { Seed = 7, MaxOutputTokens = 16 };
        var expected = await local.GetResponseAsync(messages, options);
        var actual = await chat.GetResponseAsync(messages, options);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.FinishReason, actual.FinishReason);
        Assert.Equal(expected.Usage!.InputTokenCount, actual.Usage!.InputTokenCount);
        Assert.Equal(expected.Usage.OutputTokenCount, actual.Usage.OutputTokenCount);

        var streamed = new System.Text.StringBuilder();
        await foreach (var update in chat.GetStreamingResponseAsync(messages, options))
        {
            streamed.Append(update.Text);
        }

        Assert.Equal(expected.Text, streamed.ToString());
    }

    [Theory]
    [MemberData(nameof(Where))]
    public void An_unknown_model_and_a_model_of_the_wrong_kind_are_the_same_errors_either_way(bool remote)
    {
        using var pronto = Open(remote);
        var missing = Assert.Throws<ProntoException>(() => pronto.GetClassifier("no-such-model"));
        Assert.Equal(ErrorCode.NotFound, missing.Code);
        Assert.Contains("no-such-model", missing.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<ProntoException>(() => pronto.GetEmbeddingGenerator("fraud"));
        Assert.Equal(ErrorCode.InvalidArgument, wrong.Code);
        Assert.StartsWith("model 'fraud' is not a text-embedding model: it takes ", wrong.Message, StringComparison.Ordinal);
        Assert.EndsWith("; a text-embedding model needs text in, embedding out", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddProntoClient_is_the_one_line_that_moves_an_application_to_the_server()
    {
        var services = new ServiceCollection();
        services.AddProntoClient(fixture.Server.HttpUri, fixture.Server.GrpcUri).AddEmbeddingGenerator("minilm").AddClassifier("fraud").AddChatClient("tiny");
        await using var provider = services.BuildServiceProvider();
        Assert.IsType<ProntoClient>(provider.GetRequiredService<IProntoModels>());
        var embeddings = await provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>().GenerateAsync(["hello"]);
        var local = await fixture.Local.GetEmbeddingGenerator("minilm").GenerateAsync(["hello"]);
        Assert.Equal(local[0].Vector.ToArray(), embeddings[0].Vector.ToArray());
        var fraud = await provider.GetRequiredService<ProntoClassifier>().ClassifyAsync(Transaction);
        Assert.Equal((await fixture.Local.GetClassifier("fraud").ClassifyAsync(Transaction)).Probability, fraud.Probability);
        var answer = await provider.GetRequiredService<IChatClient>().GetResponseAsync("hi", new ChatOptions { Temperature = 0, MaxOutputTokens = 4 });
        Assert.Equal((await fixture.Local.GetChatClient("tiny").GetResponseAsync("hi", new ChatOptions { Temperature = 0, MaxOutputTokens = 4 })).Text, answer.Text);
    }
}
