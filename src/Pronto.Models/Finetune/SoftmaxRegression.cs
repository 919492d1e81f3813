namespace Pronto.Models.Finetune;

/// <summary>
/// Multinomial logistic regression by full-batch Nesterov-accelerated gradient descent on standardized features,
/// all in double and in a fixed order from zero weights: no randomness and no threads, so the same examples always
/// give the same head, bit for bit. The step is 1/L for L the gradient's Lipschitz bound (half the largest
/// eigenvalue of the features' second-moment matrix, by power iteration, plus the L2 penalty), which cannot diverge.
/// </summary>
internal static class SoftmaxRegression
{
    public static ClassifierHead Train(float[][] x, int[] y, int classes, double l2, int iterations)
    {
        var n = x.Length;
        var dim = x[0].Length;

        // Standardize each feature (resnet18 features are unnormalized; a zero-variance one keeps scale 1).
        var mean = new double[dim];
        var scale = new double[dim];
        foreach (var row in x)
        {
            for (var d = 0; d < dim; d++)
            {
                mean[d] += row[d];
            }
        }

        for (var d = 0; d < dim; d++)
        {
            mean[d] /= n;
        }

        foreach (var row in x)
        {
            for (var d = 0; d < dim; d++)
            {
                var c = row[d] - mean[d];
                scale[d] += c * c;
            }
        }

        for (var d = 0; d < dim; d++)
        {
            var sd = Math.Sqrt(scale[d] / n);
            scale[d] = sd > 1e-12 ? 1 / sd : 1;
        }

        var z = new double[n][];
        for (var i = 0; i < n; i++)
        {
            z[i] = new double[dim + 1];
            for (var d = 0; d < dim; d++)
            {
                z[i][d] = (x[i][d] - mean[d]) * scale[d];
            }

            // The bias as a constant feature.
            z[i][dim] = 1;
        }

        var width = dim + 1;
        var step = 1 / ((0.5 * LargestEigenvalue(z, width)) + l2);
        var w = new double[width * classes];
        var previous = new double[width * classes];
        var look = new double[width * classes];
        var gradient = new double[width * classes];
        var p = new double[classes];
        for (var t = 1; t <= iterations; t++)
        {
            var momentum = (t - 1) / (double)(t + 2);
            for (var j = 0; j < w.Length; j++)
            {
                look[j] = w[j] + (momentum * (w[j] - previous[j]));
            }

            Array.Clear(gradient);
            for (var i = 0; i < n; i++)
            {
                var row = z[i];
                Array.Clear(p);
                for (var d = 0; d < width; d++)
                {
                    var v = row[d];
                    for (var k = 0; k < classes; k++)
                    {
                        p[k] += v * look[(d * classes) + k];
                    }
                }

                SoftmaxInPlace(p);
                p[y[i]] -= 1;
                for (var d = 0; d < width; d++)
                {
                    var v = row[d];
                    for (var k = 0; k < classes; k++)
                    {
                        gradient[(d * classes) + k] += v * p[k];
                    }
                }
            }

            Array.Copy(w, previous, w.Length);
            for (var j = 0; j < w.Length; j++)
            {
                // No penalty on the bias row.
                var penalty = j < dim * classes ? l2 * look[j] : 0;
                w[j] = look[j] - (step * ((gradient[j] / n) + penalty));
            }
        }

        // Fold the standardization in: (x - mean) * scale · W + b = x · (scale * W) + (b - sum_d mean * scale * W).
        var weights = new float[dim * classes];
        var bias = new double[classes];
        for (var k = 0; k < classes; k++)
        {
            bias[k] = w[(dim * classes) + k];
        }

        for (var d = 0; d < dim; d++)
        {
            for (var k = 0; k < classes; k++)
            {
                var folded = w[(d * classes) + k] * scale[d];
                weights[(d * classes) + k] = (float)folded;
                bias[k] -= mean[d] * folded;
            }
        }

        return new ClassifierHead(dim, classes, weights, Array.ConvertAll(bias, b => (float)b));
    }

    public static void SoftmaxInPlace(double[] logits)
    {
        var max = double.NegativeInfinity;
        foreach (var v in logits)
        {
            max = Math.Max(max, v);
        }

        var sum = 0.0;
        for (var k = 0; k < logits.Length; k++)
        {
            logits[k] = Math.Exp(logits[k] - max);
            sum += logits[k];
        }

        for (var k = 0; k < logits.Length; k++)
        {
            logits[k] /= sum;
        }
    }

    /// <summary>Largest eigenvalue of Z^T Z / n by 50 power iterations from the all-ones vector (an upper-side estimate is padded by 10%).</summary>
    private static double LargestEigenvalue(double[][] z, int width)
    {
        var v = new double[width];
        Array.Fill(v, 1 / Math.Sqrt(width));
        var lambda = 1.0;
        for (var it = 0; it < 50; it++)
        {
            var next = new double[width];
            foreach (var row in z)
            {
                var dot = 0.0;
                for (var d = 0; d < width; d++)
                {
                    dot += row[d] * v[d];
                }

                for (var d = 0; d < width; d++)
                {
                    next[d] += dot * row[d];
                }
            }

            var norm = 0.0;
            for (var d = 0; d < width; d++)
            {
                next[d] /= z.Length;
                norm += next[d] * next[d];
            }

            lambda = Math.Sqrt(norm);
            if (lambda == 0)
            {
                return 1;
            }

            for (var d = 0; d < width; d++)
            {
                v[d] = next[d] / lambda;
            }
        }

        // Power iteration approaches the top eigenvalue from below; the margin keeps the step safely under 2/L.
        return lambda * 1.1;
    }
}
