import ff_neuro as ffn

ds = ffn.load_dataset("digits")                       # scikit-learn's bundled 8x8 digits
net = ffn.train(ds, epochs=10)                        # spiking Forward-Forward
qnet, quant = ffn.quantize(net)                       # Loihi fixed point
print(ffn.evaluate(qnet, ds, backend="emulator"))     # bit-exact Loihi, whole test set
print(ffn.energy_report(qnet, ds, profile="loihi2"))  # energy per inference, measured spikes
ffn.export_to(qnet, "digits.netx.h5")                 # NetX HDF5 for Lava / Loihi
ffn.save(qnet, "digits.h5")    # then: ff-neuro evaluate digits.h5 --backend lava-fixed
