namespace AuditPipeline.Detectors;

/// <summary>The standard normal distribution function (no erf in the BCL).</summary>
public static class Normal
{
    /// <summary>Φ(x), from the erfc fit below (error around 1e-7).</summary>
    public static double Cdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>Complementary error function, Numerical Recipes' Chebyshev fit (fractional error &lt; 1.2e-7).</summary>
    public static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1.0 / (1.0 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }
}
