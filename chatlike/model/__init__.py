"""The model side: the tiny local Llama (tiny), the training plan (plan), loading for eval and chat."""
