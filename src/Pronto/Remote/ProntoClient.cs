using System.ClientModel;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.AI;
using OpenAI;
using Pronto.Core.Errors;
using Pronto.Server.Grpc.Protocol;

namespace Pronto.Remote;

/// <summary>
/// The facade's interfaces over a Pronto server: embeddings and classification over OIP v2 gRPC (the server's gRPC
/// port, 8001 by default), chat over its OpenAI-compatible <c>/v1/chat/completions</c> (the HTTP port, 8000) through
/// OpenAI's .NET SDK and Microsoft.Extensions.AI.OpenAI. Moving an application from in-process to a server is the one
/// line that makes its <see cref="IProntoModels"/>: <c>ProntoRuntime.Open(folder)</c> becomes
/// <c>ProntoClient.Connect(new Uri("http://host:8000"))</c>. The answers are the server's: the same numbers the
/// runtime gives for the same model version, and the same text for a seeded or greedy chat.
/// </summary>
/// <remarks>The client owns its gRPC channel; disposing it closes the channel. It is safe for concurrent use.</remarks>
public sealed class ProntoClient : IProntoModels
{
    private readonly GrpcChannel _channel;
    private readonly GrpcInference _inference;
    private readonly OpenAIClient _openAi;

    private ProntoClient(Uri http, Uri grpc, string? apiKey, HttpMessageHandler? handler)
    {
        HttpAddress = http;
        GrpcAddress = grpc;
        _channel = GrpcChannel.ForAddress(grpc, handler is null ? new GrpcChannelOptions() : new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = false });
        var headers = new Metadata();
        if (apiKey is not null)
        {
            headers.Add("authorization", "Bearer " + apiKey);
        }

        _inference = new GrpcInference(new GRPCInferenceService.GRPCInferenceServiceClient(_channel), headers);

        // The SDK insists on a key; a server without keys ignores the header.
        _openAi = new OpenAIClient(new ApiKeyCredential(apiKey ?? "none"), new OpenAIClientOptions { Endpoint = new Uri(http, "v1") });
    }

    /// <summary>The server's HTTP address (the /v1 routes).</summary>
    public Uri HttpAddress { get; }

    /// <summary>The server's gRPC address (OIP v2).</summary>
    public Uri GrpcAddress { get; }

    /// <summary>
    /// A client of the server at <paramref name="http"/> (its HTTP port) and <paramref name="grpc"/> (its gRPC port;
    /// by default the same host on port 8001), sending <paramref name="apiKey"/> as <c>Authorization: Bearer</c>
    /// when the server needs one. Nothing is sent until a model is asked for.
    /// </summary>
    public static ProntoClient Connect(Uri http, Uri? grpc = null, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        return new ProntoClient(http, grpc ?? new UriBuilder(http) { Port = 8001 }.Uri, apiKey, null);
    }

    /// <summary>Checks that <paramref name="model"/> takes text and gives an embedding (model metadata), and returns its generator.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> GetEmbeddingGenerator(string model)
    {
        var metadata = _inference.Metadata(model);
        Require(metadata, ["text"], "embedding", "a text-embedding model");
        var dims = metadata.Outputs.Single(o => o.Name == "embedding").Shape;
        return new ProntoEmbeddingGenerator(_inference, this, model, [.. dims], GrpcAddress);
    }

    /// <summary>Checks that <paramref name="model"/> takes fields or text and gives probabilities, and returns its classifier.</summary>
    public ProntoClassifier GetClassifier(string model)
    {
        var metadata = _inference.Metadata(model);
        var input = Require(metadata, ["fields", "text"], "probabilities", "a classifier");
        return new ProntoClassifier(_inference, model, input, labels: null);
    }

    /// <summary>
    /// A chat client over the server's <c>/v1/chat/completions</c> for <paramref name="model"/> (streamed with
    /// <c>GetStreamingResponseAsync</c>); a model that cannot chat answers the first call with the server's 400.
    /// </summary>
    public IChatClient GetChatClient(string model)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        return _openAi.GetChatClient(model).AsIChatClient();
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>The model's BYTES input among <paramref name="inputs"/>; a clear error when it has none or lacks <paramref name="output"/>.</summary>
    private static string Require(ModelMetadataResponse metadata, string[] inputs, string output, string use)
    {
        var input = metadata.Inputs.FirstOrDefault(i => Array.IndexOf(inputs, i.Name) >= 0 && i.Datatype == "BYTES");
        if (input is null || !metadata.Outputs.Any(o => o.Name == output && o.Datatype == "FP32"))
        {
            ProntoErrors.InvalidArgument($"model '{metadata.Name}' is not {use}: it takes {string.Join(", ", metadata.Inputs.Select(i => $"{i.Name} ({i.Datatype})"))} "
                + $"and produces {string.Join(", ", metadata.Outputs.Select(o => $"{o.Name} ({o.Datatype})"))}; {use} needs {string.Join(" or ", inputs)} in, {output} out");
        }

        return input!.Name;
    }
}
