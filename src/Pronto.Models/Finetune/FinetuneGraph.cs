using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Models.Onnx;
using static Pronto.Models.Onnx.OnnxModelEditor;

namespace Pronto.Models.Finetune;

/// <summary>
/// The exported graph: the base model, then as ONNX nodes what the base model's embedding producer does in C#
/// (EmbeddingProducer: masked mean / first token / flatten, then L2 normalization), then MatMul + Add + Softmax.
/// One engine call per request and no C# post-processing left: the classify producer only reads the probabilities.
/// </summary>
internal static class FinetuneGraph
{
    public const string Output = "probabilities";

    public static ModelProto Build(ModelProto baseModel, ModelConfig baseConfig, ClassifierHead head)
    {
        var graph = baseModel.Graph;
        var p = baseConfig.Parameters;
        var source = p.GetValueOrDefault(ProntoParameters.EmbeddingOutput) ?? baseConfig.Outputs[0].Name;
        var pooling = p.GetValueOrDefault(ProntoParameters.EmbeddingPooling) ?? "mean";
        var normalize = !string.Equals(p.GetValueOrDefault(ProntoParameters.EmbeddingNormalize), "false", StringComparison.OrdinalIgnoreCase);
        if (graph.Output.All(o => o.Name != source))
        {
            ProntoErrors.Unsupported($"base model '{baseConfig.Name}': its graph has no output '{source}'");
        }

        // Reshape's 0 copies the input's dimension: [0, -1] keeps the batch and flattens the rest.
        graph.Initializer.Add(Int64Tensor("finetune/flat_shape", [2], [0, -1]));
        string embedding;
        switch (pooling)
        {
            case "none":
                graph.Node.Add(Node("Reshape", "finetune/flatten", [source, "finetune/flat_shape"], ["finetune/embedding"]));
                embedding = "finetune/embedding";
                break;
            case "cls":
                graph.Initializer.Add(Int64Tensor("finetune/first", [], [0]));
                graph.Node.Add(Node("Gather", "finetune/cls", [source, "finetune/first"], ["finetune/embedding"], IntAttribute("axis", 1)));
                embedding = "finetune/embedding";
                break;
            case "mean":
                var mask = p.GetValueOrDefault(ProntoParameters.EmbeddingMaskInput) ?? "attention_mask";
                if (graph.Input.All(i => i.Name != mask))
                {
                    ProntoErrors.Unsupported($"base model '{baseConfig.Name}': mean pooling needs the mask input '{mask}', which its graph lacks");
                }

                // sum_t mask[t] * h[t] and sum_t mask[t] as two batched MatMuls over the mask as a [1, t] row
                // (mask * mask = mask for 0/1 values): no ReduceSum, whose axes moved from attribute to input in opset 13.
                graph.Initializer.Add(Int64Tensor("finetune/row_shape", [3], [0, 1, -1]));
                graph.Initializer.Add(Int64Tensor("finetune/column_shape", [3], [0, -1, 1]));
                graph.Initializer.Add(FloatTensor("finetune/one", [], [1f]));
                graph.Node.Add(Node("Cast", "finetune/mask_float", [mask], ["finetune/mask"], IntAttribute("to", (long)TensorProto.Types.DataType.Float)));
                graph.Node.Add(Node("Reshape", "finetune/mask_row", ["finetune/mask", "finetune/row_shape"], ["finetune/mask_row"]));
                graph.Node.Add(Node("Reshape", "finetune/mask_column", ["finetune/mask", "finetune/column_shape"], ["finetune/mask_column"]));
                graph.Node.Add(Node("MatMul", "finetune/masked_sum", ["finetune/mask_row", source], ["finetune/sum"]));
                graph.Node.Add(Node("MatMul", "finetune/token_count", ["finetune/mask_row", "finetune/mask_column"], ["finetune/count"]));
                // An all-zero mask divides by 1, as EmbeddingProducer's Math.Max(used, 1) does.
                graph.Node.Add(Node("Max", "finetune/count_at_least_one", ["finetune/count", "finetune/one"], ["finetune/count1"]));
                graph.Node.Add(Node("Div", "finetune/mean", ["finetune/sum", "finetune/count1"], ["finetune/mean"]));
                graph.Node.Add(Node("Reshape", "finetune/mean_flat", ["finetune/mean", "finetune/flat_shape"], ["finetune/embedding"]));
                embedding = "finetune/embedding";
                break;
            default:
                return ProntoErrors.InvalidArgument<ModelProto>($"base model '{baseConfig.Name}': pooling '{pooling}' is not mean, cls or none");
        }

        if (normalize)
        {
            var ones = new float[head.Dim];
            Array.Fill(ones, 1f);
            graph.Initializer.Add(FloatTensor("finetune/ones", [head.Dim, 1], ones));

            // A zero vector stays zero (0 / sqrt(tiny)), as in EmbeddingProducer; for any other vector the floor is far below its norm.
            graph.Initializer.Add(FloatTensor("finetune/tiny", [], [1e-30f]));
            graph.Node.Add(Node("Mul", "finetune/square", [embedding, embedding], ["finetune/square"]));
            graph.Node.Add(Node("MatMul", "finetune/sum_squares", ["finetune/square", "finetune/ones"], ["finetune/sum_squares"]));
            graph.Node.Add(Node("Max", "finetune/sum_squares_floor", ["finetune/sum_squares", "finetune/tiny"], ["finetune/sum_squares1"]));
            graph.Node.Add(Node("Sqrt", "finetune/norm", ["finetune/sum_squares1"], ["finetune/norm"]));
            graph.Node.Add(Node("Div", "finetune/normalize", [embedding, "finetune/norm"], ["finetune/unit"]));
            embedding = "finetune/unit";
        }

        graph.Initializer.Add(FloatTensor("finetune/weights", [head.Dim, head.Classes], head.Weights));
        graph.Initializer.Add(FloatTensor("finetune/bias", [head.Classes], head.Bias));
        graph.Node.Add(Node("MatMul", "finetune/head", [embedding, "finetune/weights"], ["finetune/scores"]));
        graph.Node.Add(Node("Add", "finetune/head_bias", ["finetune/scores", "finetune/bias"], ["finetune/logits"]));
        // A 2-D input: axis 1 means the same before and after opset 13's change to Softmax.
        graph.Node.Add(Node("Softmax", "finetune/softmax", ["finetune/logits"], [Output], IntAttribute("axis", 1)));

        graph.Output.Clear();
        graph.Output.Add(TensorValue(Output, TensorProto.Types.DataType.Float, "batch", (long)head.Classes));
        PruneUnused(graph);
        return baseModel;
    }

    /// <summary>The base model's config with its processing kept and the embedding producer swapped for classify.</summary>
    public static ModelConfig Config(ModelConfig baseConfig, string name, int classes, string labelFile)
    {
        var config = ModelConfigText.Parse(ModelConfigText.Format(baseConfig), name);
        config.Name = name;
        config.Outputs.Clear();
        config.Outputs.Add(new TensorConfig { Name = Output, DataType = Core.Tensors.DataType.FP32, Dims = [classes], LabelFilename = labelFile });
        foreach (var key in config.Parameters.Keys.Where(k => k.StartsWith("pronto.embedding.", StringComparison.Ordinal)).ToList())
        {
            config.Parameters.Remove(key);
        }

        config.Parameters[ProntoParameters.Produce] = "classify";
        config.Parameters[ProntoParameters.ClassifyOutput] = Output;
        config.Parameters[ProntoParameters.ClassifyActivation] = "none";
        return config;
    }
}
