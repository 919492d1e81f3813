using Microsoft.Extensions.AI;

namespace Pronto;

/// <summary>
/// The models an application uses, wherever they run: <see cref="ProntoRuntime"/> runs them in this process (edge,
/// offline), <see cref="Remote.ProntoClient"/> on a Pronto server (OIP v2 over gRPC; chat over the server's /v1
/// routes). Code written against this interface moves between the two by changing the one line that creates it.
/// </summary>
public interface IProntoModels : IDisposable
{
    /// <summary>Embeddings from a text-embedding model (text in, embedding out, e.g. minilm).</summary>
    IEmbeddingGenerator<string, Embedding<float>> GetEmbeddingGenerator(string model);

    /// <summary>Labels with probabilities from a classification model (fields or text in, e.g. fraud).</summary>
    ProntoClassifier GetClassifier(string model);

    /// <summary>Chat with a generative model that has a chat template.</summary>
    IChatClient GetChatClient(string model);
}
