namespace Pronto;

/// <summary>One class of a classification: its label (the index as text when the model has no labels) and probability.</summary>
public readonly record struct ProntoClass(string Label, float Probability);

/// <summary>
/// One classified item: the most probable class first (<see cref="Label"/>, <see cref="Probability"/>), and every
/// class in the model's order in <see cref="Classes"/>.
/// </summary>
public sealed record ProntoClassification(string Label, float Probability, IReadOnlyList<ProntoClass> Classes)
{
    /// <summary>The probability of the class labelled <paramref name="label"/>.</summary>
    public float this[string label]
    {
        get
        {
            foreach (var c in Classes)
            {
                if (c.Label == label)
                {
                    return c.Probability;
                }
            }

            throw new KeyNotFoundException($"no class '{label}'; the classes are {string.Join(", ", Classes.Select(c => c.Label))}");
        }
    }
}
