namespace Pronto.Models.Finetune;

/// <summary>
/// The trained head over raw embeddings: <c>softmax(x · Weights + Bias)</c>, Weights row-major [dim, classes]
/// (the layout of the exported MatMul's initializer). Standardization is folded into it, so the graph needs no Sub/Div.
/// </summary>
public sealed class ClassifierHead(int dim, int classes, float[] weights, float[] bias)
{
    public int Dim { get; } = dim;

    public int Classes { get; } = classes;

    public float[] Weights { get; } = weights;

    public float[] Bias { get; } = bias;

    /// <summary>Class probabilities of one embedding, computed in double (the reference the exported graph is checked against).</summary>
    public double[] Probabilities(ReadOnlySpan<float> x)
    {
        var logits = new double[Classes];
        for (var k = 0; k < Classes; k++)
        {
            logits[k] = Bias[k];
        }

        for (var d = 0; d < Dim; d++)
        {
            var v = (double)x[d];
            for (var k = 0; k < Classes; k++)
            {
                logits[k] += v * Weights[(d * Classes) + k];
            }
        }

        SoftmaxRegression.SoftmaxInPlace(logits);
        return logits;
    }

    public int Predict(ReadOnlySpan<float> x)
    {
        var p = Probabilities(x);
        var best = 0;
        for (var k = 1; k < p.Length; k++)
        {
            if (p[k] > p[best])
            {
                best = k;
            }
        }

        return best;
    }
}
