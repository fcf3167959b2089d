// placeholder: implemented by the transfer work
