// placeholder: implemented by the html work
