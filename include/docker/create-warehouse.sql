-- The warehouse database the monitors read and write, beside Airflow's metadata DB.
CREATE DATABASE warehouse;
