"""MobileNetV1 "implemented from the paper", correctly and with the mistakes people make.

Each name is a factory with no arguments (archprof profile tests/models/mobilenets.py:NAME).
"""

from torch import nn

# (output channels of the pointwise conv, stride of the depthwise conv before it): Table 1
BODY = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def _make_divisible(v, d=8):
    new = max(d, int(v + d / 2) // d * d)
    return new + d if new < 0.9 * v else new


class NoScaleBN1d(nn.BatchNorm1d):
    """Keras BatchNormalization(scale=False): β only."""

    def __init__(self, c):
        super().__init__(c)
        self.register_parameter("weight", None)


def mobilenet(alpha=1.0, bias=False, first_bn=True, fc_bias=True, fc_bn=False, body=BODY, classes=1000,
              width=lambda c, a: int(c * a), act=nn.ReLU):
    def unit(cin, cout, k, s, groups=1, bn=True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=bias)]
        if bn:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(act(inplace=True))
        return nn.Sequential(*layers)

    c = width(32, alpha)
    features = [unit(3, c, 3, 2, bn=first_bn)]
    for out, stride in body:
        o = width(out, alpha)
        features += [unit(c, c, 3, stride, groups=c), unit(c, o, 1, 1)]
        c = o
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes, bias=fc_bias)]
    if fc_bn:
        head.append(NoScaleBN1d(classes))
    return nn.Sequential(nn.Sequential(*features), nn.Sequential(*head))


def correct():
    return mobilenet()


def bias_everywhere():
    return mobilenet(bias=True)


def no_first_bn():
    return mobilenet(first_bn=False)


def fc_without_bias_bn_without_scale():
    return mobilenet(fc_bias=False, fc_bn=True)


def stride_as_printed():
    # Table 1 taken literally: the second-to-last depthwise conv at stride 2
    return mobilenet(body=BODY[:-1] + [(1024, 2)])


def tf_classes():
    return mobilenet(classes=1001)


def divisible_035():
    return mobilenet(alpha=0.35, width=lambda c, a: _make_divisible(c * a))


def relu6_everywhere():
    return mobilenet(act=nn.ReLU6)


if __name__ == "__main__":
    print(sum(p.numel() for p in correct().parameters()))
